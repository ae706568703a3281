using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;

namespace TeacherStudent.Teacher.Tests.Batching;

/// <summary>
/// A language-model teacher's SoftTargets requests share forwards across streams, within the token
/// budget, and every answer is still what its sequences get alone.
/// </summary>
public sealed class SequenceBatchingTests
{
    // A MaxDelay far longer than any test: with a student that may send at any moment (an idle stream), a
    // forward starts only when its token budget is full.
    private const string Forever = "60000";

    [Fact]
    public async Task StreamsOfDifferentLengthsTemperaturesAndKindsShareOneForwardAndGetWhatTheirSequencesGetAlone()
    {
        // Arrange: six streams whose requests together fill the budget exactly, so that one forward holds them all.
        var asks = new (int Count, int Length, float Temperature, int K, SparseKind Kind)[]
        {
            (2, 8, 2f, 0, SparseKind.TopK),
            (1, 31, 1f, 0, SparseKind.TopK),
            (3, 12, 0.5f, 8, SparseKind.TopK),
            (2, 20, 2f, 4, SparseKind.TopK),
            (2, 16, 1f, 16, SparseKind.Sampled),
            (1, 5, 3f, 16, SparseKind.Sampled),
        };
        var budget = asks.Sum(a => a.Count * a.Length);
        await using var teacher = await SequenceBatchingTeacher.StartAsync(new Dictionary<string, string>
        {
            ["MaxTokens"] = budget.ToString(), ["MaxDelayMs"] = Forever,
        });
        await using var idle = await teacher.OpenIdleStreamAsync();
        var (forwardsBefore, tokensBefore) = (teacher.Metrics.Forwards, teacher.Metrics.TokensComputed);
        var requests = asks.Select((a, i) => teacher.Request(teacher.Tokens(100 * i, a.Count, a.Length), a.Count, a.Length, a.Temperature, a.K, a.Kind,
            seed: 5 + i)).ToArray();

        // Act
        var responses = await Task.WhenAll(requests.Select(async request =>
        {
            await using var stream = teacher.Server.OpenStream();
            return await stream.AskAsync(request);
        }));

        // Assert
        for (int i = 0; i < requests.Length; i++) teacher.AssertSameAsAlone(requests[i], responses[i]);
        Assert.Equal(1, teacher.Metrics.Forwards - forwardsBefore);
        Assert.Equal(budget, teacher.Metrics.TokensComputed - tokensBefore);
        Assert.Equal(asks.Sum(a => a.Count), teacher.Metrics.LargestBatch);
    }

    [Fact]
    public async Task IdenticalSequencesAskedOnConcurrentStreamsAreComputedOnce()
    {
        // Arrange: the budget holds two requests; three streams ask the same one, a fourth another.
        await using var teacher = await SequenceBatchingTeacher.StartAsync(new Dictionary<string, string>
        {
            ["MaxTokens"] = (2 * 3 * 16).ToString(), ["MaxDelayMs"] = Forever,
        });
        await using var idle = await teacher.OpenIdleStreamAsync();
        var (forwardsBefore, tokensBefore) = (teacher.Metrics.Forwards, teacher.Metrics.TokensComputed);
        var same = teacher.Request(teacher.Tokens(0, 3, 16), 3, 16, k: 8);
        var other = teacher.Request(teacher.Tokens(400, 3, 16), 3, 16, k: 8);
        var streams = Enumerable.Range(0, 4).Select(_ => teacher.Server.OpenStream()).ToArray();

        // Act: the three identical requests wait together (two of them on the first one's computation), then the other fills the forward.
        var asked = streams.Take(3).Select(s => s.AskAsync(same)).ToArray();
        await BatchingTeacher.EventuallyAsync(() => teacher.Metrics.Coalesced == 6 && teacher.Metrics.QueuedExamples == 3, "two requests wait on the first");
        var otherAnswer = await streams[3].AskAsync(other);
        var answers = await Task.WhenAll(asked);

        // Assert
        foreach (var answer in answers) teacher.AssertSameAsAlone(same, answer);
        teacher.AssertSameAsAlone(other, otherAnswer);
        Assert.Equal(1, teacher.Metrics.Forwards - forwardsBefore);
        Assert.Equal(2 * 3 * 16, teacher.Metrics.TokensComputed - tokensBefore);
        foreach (var stream in streams) await stream.DisposeAsync();
    }

    [Fact]
    public async Task AStudentAloneWaitingForEachAnswerIsNotHeldForABudgetNobodyElseCanFill()
    {
        // Arrange: one stream, and a MaxDelay far longer than the test.
        await using var teacher = await SequenceBatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxTokens"] = "1000", ["MaxDelayMs"] = Forever });
        await using var stream = teacher.Server.OpenStream();
        var requests = Enumerable.Range(0, 3).Select(i => teacher.Request(teacher.Tokens(500 + 40 * i, 2, 12), 2, 12, k: 4)).ToArray();

        // Act: each request sent once the one before is answered.
        var responses = new List<SoftTargetsResponse>();
        foreach (var request in requests) responses.Add(await stream.AskAsync(request).WaitAsync(TimeSpan.FromSeconds(30)));

        // Assert: a forward per request, each started at once.
        for (int i = 0; i < requests.Length; i++) teacher.AssertSameAsAlone(requests[i], responses[i]);
        Assert.Equal(3, teacher.Metrics.Forwards);
    }

    [Fact]
    public async Task ARequestLargerThanTheTokenBudgetIsSpreadOverForwardsThatEachStayWithinIt()
    {
        // Arrange: 40 tokens per forward hold two sequences of 16, not three.
        await using var teacher = await SequenceBatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxTokens"] = "40", ["MaxDelayMs"] = "1" });
        var request = teacher.Request(teacher.Tokens(50, 6, 16), 6, 16, k: 4);
        await using var stream = teacher.Server.OpenStream();

        // Act
        var response = await stream.AskAsync(request);

        // Assert
        teacher.AssertSameAsAlone(request, response);
        Assert.Equal(3, teacher.Metrics.Forwards);
        Assert.Equal(32, teacher.Metrics.LargestForwardTokens);
        Assert.Equal(96, teacher.Metrics.TokensComputed);
    }

    [Fact]
    public async Task AStreamCancelledBetweenTheForwardsOfItsRequestLosesTheRestAndTheServiceAnswersOthers()
    {
        // Arrange: a request of three sequences where a forward holds two; the third waits for a budget that never fills.
        await using var teacher = await SequenceBatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxTokens"] = "32", ["MaxDelayMs"] = Forever });
        await using var idle = await teacher.OpenIdleStreamAsync();
        var (forwardsBefore, tokensBefore) = (teacher.Metrics.Forwards, teacher.Metrics.TokensComputed);
        using var cancel = new CancellationTokenSource();
        using var doomed = teacher.Server.Client.SoftTargets(cancellationToken: cancel.Token);
        await doomed.RequestStream.WriteAsync(teacher.Request(teacher.Tokens(0, 3, 16), 3, 16, k: 4));
        await BatchingTeacher.EventuallyAsync(() => teacher.Metrics.Forwards - forwardsBefore == 1 && teacher.Metrics.QueuedExamples == 1,
            "two sequences computed and one still queued");

        // Act
        cancel.Cancel();
        await BatchingTeacher.EventuallyAsync(() => teacher.Metrics.QueuedExamples == 0, "the queue is empty again");
        var request = teacher.Request(teacher.Tokens(300, 2, 16), 2, 16, k: 4);
        await using var stream = teacher.Server.OpenStream();
        var response = await stream.AskAsync(request);

        // Assert: the dropped sequence was never computed; the next stream's full forward was.
        teacher.AssertSameAsAlone(request, response);
        Assert.Equal(1, teacher.Metrics.DroppedExamples);
        Assert.Equal(2, teacher.Metrics.Forwards - forwardsBefore);
        Assert.Equal(64, teacher.Metrics.TokensComputed - tokensBefore);
    }

    [Fact]
    public async Task WhenTheQueueStaysFullPastACallsDeadlineThatBatchIsResourceExhaustedAndTheStreamGoesOn()
    {
        // Arrange: room for two queued sequences, held by a request whose forward waits for a budget that never fills.
        await using var teacher = await SequenceBatchingTeacher.StartAsync(new Dictionary<string, string>
        {
            ["MaxTokens"] = "1000", ["MaxDelayMs"] = Forever, ["MaxBatch"] = "2", ["QueueCapacity"] = "2",
        });
        await using var idle = await teacher.OpenIdleStreamAsync();
        var forwardsBefore = teacher.Metrics.Forwards;
        using var stopHolding = new CancellationTokenSource();
        using var holder = teacher.Server.Client.SoftTargets(cancellationToken: stopHolding.Token);
        await holder.RequestStream.WriteAsync(teacher.Request(teacher.Tokens(0, 2, 16), 2, 16, k: 4));
        await BatchingTeacher.EventuallyAsync(() => teacher.Metrics.QueuedExamples == 2, "the queue is full");
        // Long enough that the refusal, sent a second before the deadline (QueueDeadline), reaches the caller on a loaded machine.
        using var call = teacher.Server.Client.SoftTargets(deadline: DateTime.UtcNow.AddSeconds(10));

        // Act
        await call.RequestStream.WriteAsync(teacher.Request(teacher.Tokens(200, 1, 16), 1, 16, k: 4));
        Assert.True(await call.ResponseStream.MoveNext());
        var refused = call.ResponseStream.Current;

        // Assert
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.Error, refused.ResultCase);
        Assert.Equal((int)StatusCode.ResourceExhausted, refused.Error.Code);
        Assert.Equal(1, teacher.Metrics.RejectedRequests);
        Assert.Equal(0, teacher.Metrics.Forwards - forwardsBefore);
        await stopHolding.CancelAsync();
    }

    [Fact]
    public async Task WithBatchingOffEveryRequestRunsAForwardOfItsOwn()
    {
        // Arrange
        await using var teacher = await SequenceBatchingTeacher.StartAsync(new Dictionary<string, string> { ["Enabled"] = "false" });
        var requests = Enumerable.Range(0, 4).Select(i => teacher.Request(teacher.Tokens(60 * i, 2, 12), 2, 12, k: 8)).ToArray();

        // Act
        var responses = await Task.WhenAll(requests.Select(async request =>
        {
            await using var stream = teacher.Server.OpenStream();
            return await stream.AskAsync(request);
        }));

        // Assert
        for (int i = 0; i < requests.Length; i++) teacher.AssertSameAsAlone(requests[i], responses[i]);
        Assert.Equal(4, teacher.Metrics.Forwards);
        Assert.Equal(2, teacher.Metrics.LargestBatch);
    }
}
