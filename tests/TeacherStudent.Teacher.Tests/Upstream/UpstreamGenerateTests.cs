using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;

namespace TeacherStudent.Teacher.Tests.Upstream;

/// <summary>
/// Generate over real gRPC against the teacher service, whose upstream teacher is the fake
/// OpenAI-compatible server: samples are streamed, repeats come from the generation cache without
/// a call upstream, and the upstream's failures end the call with their status and message.
/// Each test has its own server and service (so its own cache and circuit breaker).
/// </summary>
public sealed class UpstreamGenerateTests : IAsyncLifetime
{
    private const string Gpt = "gpt";
    private const string Model = "fake-model";
    private const string Key = "sk-e2e-0123456789abcdef";
    private FakeUpstream upstream = null!;
    private TeacherServer server = null!;

    public async Task InitializeAsync()
    {
        upstream = await FakeUpstream.StartAsync();
        server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Upstreams:0:Name"] = Gpt,
            ["Upstreams:0:BaseUrl"] = upstream.BaseUrl,
            ["Upstreams:0:Model"] = Model,
            ["Upstreams:0:ApiKey"] = Key,
            ["Upstreams:0:TimeoutSeconds"] = "2",
            ["Upstreams:0:TotalTimeoutSeconds"] = "5",  // attempts and their room on a busy machine (0.5 and 1 s were too tight under load)
            ["Upstreams:0:MaxRetries"] = "2",
            ["Upstreams:0:RetryDelaySeconds"] = "0.01",
            ["Upstreams:0:MaxRetryDelaySeconds"] = "0.05",
            ["Upstreams:0:BreakerMinimumThroughput"] = "6",
            ["Upstreams:0:BreakerFailureRatio"] = "1",
            ["Upstreams:0:BreakSeconds"] = "30",
            ["Upstreams:0:MaxSamples"] = "8",
        });
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        await upstream.DisposeAsync();
    }

    private static GenerateRequest Request(int n, params string[] prompts) =>
        new() { Teacher = Gpt, Prompts = { prompts }, N = n, Seed = 11, MaxNewTokens = 20, Temperature = 0.8f, TopP = 0.95f };

    private Task<List<(GeneratedSample Sample, string Version)>> GenerateAsync(GenerateRequest request) => server.GenerateAsync(request);

    [Fact]
    public async Task GenerateStreamsEverySampleOfEveryPromptEachFromItsOwnUpstreamCall()
    {
        // Act
        var samples = await GenerateAsync(Request(3, "Flip a coin.", "Name a colour."));

        // Assert
        Assert.Equal(6, samples.Count);
        Assert.All(samples, s => Assert.Equal(Model, s.Version));
        Assert.Equal([(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)],
            samples.Select(s => (s.Sample.PromptIndex, s.Sample.SampleIndex)).Order());
        Assert.All(samples, s => Assert.False(s.Sample.Cached));
        Assert.All(samples, s => Assert.Equal((FinishReason.Stop, 7, 2), (s.Sample.FinishReason, s.Sample.PromptTokens, s.Sample.CompletionTokens)));
        Assert.Equal(6, upstream.Requests);
        // Each sample is the text of the call made for it (the fake writes the prompt and seed it
        // was sent); the samples of a prompt were sent different seeds.
        var sent = upstream.Received;
        Assert.Equal(sent.Select(r => r.Echo).Order(), samples.Select(s => s.Sample.Text).Order());
        Assert.All(sent.GroupBy(r => r.Prompt), prompt => Assert.Equal(3, prompt.Select(r => r.Seed).Distinct().Count()));
        foreach (var (sample, _) in samples)
            Assert.StartsWith(sample.PromptIndex == 0 ? "Flip a coin." : "Name a colour.", sample.Text);
        Assert.All(sent, r => Assert.Equal($"Bearer {Key}", r.Authorization));
        Assert.All(sent, r => Assert.Equal(20, (int)r.Body["max_tokens"]!));
    }

    [Fact]
    public async Task SoftTargetsAskedOfAnUpstreamTeacherIsFailedPreconditionOnAStreamThatGoesOn()
    {
        await using var stream = server.OpenStream();

        var reply = await stream.AskAsync(new SoftTargetsRequest { RequestId = "r", Teacher = Gpt, Temperature = 1 });

        Assert.Equal(SoftTargetsResponse.ResultOneofCase.Error, reply.ResultCase);
        Assert.Equal((int)StatusCode.FailedPrecondition, reply.Error.Code);
        Assert.Contains("black-box teacher", reply.Error.Message);
        Assert.Contains("Generate", reply.Error.Message);
        Assert.Equal(0, upstream.Requests);
    }

    [Fact]
    public async Task SoftTargetsOfAnUnknownTeacherListsTheUpstreamTeachersToo()
    {
        await using var stream = server.OpenStream();

        var reply = await stream.AskAsync(TestImages.Request(0, 1, teacher: "nobody"));

        Assert.Equal((int)StatusCode.NotFound, reply.Error.Code);
        // This service holds no local teacher: the message used to end "holds: ." here.
        Assert.EndsWith("this service holds: gpt.", reply.Error.Message);
    }

    [Fact]
    public async Task ASecondIdenticalRequestIsAnsweredFromTheCacheWithoutCallingTheUpstream()
    {
        // Arrange
        var request = Request(2, "Flip a coin.", "Name a colour.");
        var first = await GenerateAsync(request);

        // Act
        var second = await GenerateAsync(request);

        // Assert
        Assert.Equal(4, upstream.Requests);
        Assert.Equal(4, second.Count);
        Assert.All(second, s => Assert.True(s.Sample.Cached));
        Assert.All(second, s => Assert.Equal(Model, s.Version));
        Assert.Equal(Texts(first), Texts(second));
    }

    [Fact]
    public async Task TooManyRequestsThenSuccessStreamsTheSampleAfterARetry()
    {
        // Arrange
        upstream.Then(Reply.Error(429, "Rate limit reached for requests", retryAfterSeconds: 0), Reply.Completion("Heads."));

        // Act
        var samples = await GenerateAsync(Request(1, "Flip a coin."));

        // Assert
        Assert.Equal("Heads.", Assert.Single(samples).Sample.Text);
        Assert.Equal(2, upstream.Requests);
    }

    [Fact]
    public async Task AnUpstreamThatKeepsFailingEndsTheCallUnavailableWithItsMessage()
    {
        // Arrange
        upstream.Otherwise = Reply.Error(502, "Bad gateway: the model server is restarting");

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(() => GenerateAsync(Request(1, "Flip a coin.")));

        // Assert
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains($"upstream teacher '{Gpt}'", error.Status.Detail);
        Assert.Contains("HTTP 502", error.Status.Detail);
        Assert.Contains("the model server is restarting", error.Status.Detail);
        Assert.Equal(3, upstream.Requests);
    }

    [Fact]
    public async Task OnceTheBreakerOpensCallsFailUnavailableWithoutReachingTheUpstream()
    {
        // Arrange: two calls of three failed attempts open the breaker.
        upstream.Otherwise = Reply.Error(500, "Internal model error");
        await Assert.ThrowsAsync<RpcException>(() => GenerateAsync(Request(1, "one")));
        await Assert.ThrowsAsync<RpcException>(() => GenerateAsync(Request(1, "two")));
        var before = upstream.Requests;

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(() => GenerateAsync(Request(1, "three")));

        // Assert
        Assert.Equal(6, before);
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains("is failing; calls are paused for", error.Status.Detail);
        // Usually the upstream's own message; a busy machine may have seen an attempt time out last.
        Assert.Contains("(last failure: ", error.Status.Detail);
        Assert.Equal(before, upstream.Requests);
    }

    [Fact]
    public async Task AnUpstreamThatDoesNotAnswerInTimeEndsTheCallDeadlineExceeded()
    {
        // Arrange
        upstream.Otherwise = Reply.Hang();

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(() => GenerateAsync(Request(1, "Flip a coin.")));

        // Assert
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains($"upstream teacher '{Gpt}'", error.Status.Detail);
        Assert.Contains("did not answer within", error.Status.Detail);
    }

    [Fact]
    public async Task ARejectedKeyEndsTheCallFailedPreconditionWithoutTheKeyInTheMessage()
    {
        // Arrange
        upstream.Otherwise = Reply.Error(401, $"Incorrect API key provided: {Key}");

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(() => GenerateAsync(Request(1, "Flip a coin.")));

        // Assert
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("HTTP 401", error.Status.Detail);
        Assert.DoesNotContain(Key, error.Status.Detail);
        Assert.Equal(1, upstream.Requests);
    }

    [Fact]
    public async Task MoreSamplesThanTheUpstreamsMaxSamplesIsInvalidArgumentAndNothingIsAsked()
    {
        // Act
        var error = await Assert.ThrowsAsync<RpcException>(() => GenerateAsync(Request(3, "a", "b", "c")));

        // Assert
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("at most 8", error.Status.Detail);
        Assert.Equal(0, upstream.Requests);
    }

    [Fact]
    public async Task ACallerThatGoesAwayCancelsTheUpstreamCallsInFlightAndNothingIsRetried()
    {
        // Arrange: attempts would time out only after 0.5 s; the caller leaves once both calls are upstream.
        upstream.Otherwise = Reply.Hang();
        using var caller = new CancellationTokenSource();
        using var call = server.Client.Generate(Request(2, "Flip a coin."), cancellationToken: caller.Token);
        var reading = call.ResponseStream.MoveNext(CancellationToken.None);
        await upstream.WaitUntilAsync(u => u.Requests == 2);

        // Act
        await caller.CancelAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() => reading);
        await upstream.WaitUntilAsync(u => u.Aborted == 2);

        // Assert
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.Equal(2, upstream.Aborted);
        Assert.Equal(2, upstream.Requests);
    }

    private static List<string> Texts(List<(GeneratedSample Sample, string Version)> samples) =>
        [.. samples.OrderBy(s => (s.Sample.PromptIndex, s.Sample.SampleIndex)).Select(s => s.Sample.Text)];
}
