using System.Diagnostics;
using System.Runtime.InteropServices;
using Google.Protobuf;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;

namespace TeacherStudent.Teacher.Tests.Batching;

/// <summary>Requests of many streams share forwards, and every answer is still exactly its own.</summary>
public sealed class DynamicBatchingTests
{
    [Fact]
    public async Task ManyConcurrentStreamsWithMixedSizesTemperaturesAndDtypesGetTheInProcessForwardsAnswers()
    {
        // Arrange: a MaxDelay long enough for requests of different streams to meet in one forward,
        // and requests up to 100 examples, so that some are spread over two forwards of 64.
        await using var teacher = await BatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxBatch"] = "64", ["MaxDelayMs"] = "20" });
        const int streams = 8, requestsPerStream = 4;
        float[] temperatures = [1f, 2f, 4f, 0.5f];

        // Act
        var results = await Task.WhenAll(Enumerable.Range(0, streams).Select(async s =>
        {
            await using var stream = teacher.Server.OpenStream();
            var answers = new List<(int Start, int Count, float Temperature, DType Output, SoftTargetsResponse Response)>();
            for (int r = 0; r < requestsPerStream; r++)
            {
                var (start, count) = (1000 + (s * requestsPerStream + r) * 100, 1 + (s * 29 + r * 17) % 100);
                var temperature = temperatures[(s + r) % temperatures.Length];
                var output = (s + r) % 2 == 0 ? DType.Float32 : DType.Float16;
                var request = TestImages.Request(start, count, temperature, output);
                if (s % 3 == 0) UseFloatPixels(request);
                answers.Add((start, count, temperature, output, await stream.AskAsync(request)));
            }
            return answers;
        }));

        // Assert
        foreach (var (start, count, temperature, output, response) in results.SelectMany(r => r))
        {
            TestImages.AssertSucceeded(response);
            Assert.Equal(output, response.LogProbs.Dtype);
            var expected = teacher.Reference.LogProbs(TestImages.Pixels(start, count), count, temperature);
            TestImages.AssertClose(expected, TestImages.LogProbs(response), output == DType.Float32 ? 1e-5 : 2e-3);
        }
        Assert.InRange(teacher.Metrics.LargestBatch, 1, 64);
    }

    [Fact]
    public async Task EightStreamsSendingEightExamplesAtOnceShareOneForwardOfSixtyFour()
    {
        // Arrange: MaxDelay (60 s, the most allowed) far longer than the test, and a student that may
        // send at any moment, so that only a full batch can start the forward.
        await using var teacher = await BatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxBatch"] = "64", ["MaxDelayMs"] = "60000" });
        await using var idle = await teacher.OpenIdleStreamAsync();
        var forwardsBefore = teacher.Metrics.Forwards;
        var streams = Enumerable.Range(0, 8).Select(_ => teacher.Server.OpenStream()).ToArray();

        // Act
        var watch = Stopwatch.StartNew();
        var responses = await Task.WhenAll(streams.Select((stream, i) => stream.AskAsync(TestImages.Request(2000 + 8 * i, 8))));
        var took = watch.Elapsed;

        // Assert
        for (int i = 0; i < streams.Length; i++)
            TestImages.AssertClose(teacher.Reference.LogProbs(TestImages.Pixels(2000 + 8 * i, 8), 8, 1f), TestImages.LogProbs(responses[i]), 1e-5);
        Assert.Equal(1, teacher.Metrics.Forwards - forwardsBefore);
        Assert.Equal(64, teacher.Metrics.LargestBatch);
        // Half of MaxDelay: a loaded machine's slow forward stays far below it, a batch that waited for MaxDelay far above.
        Assert.True(took < TimeSpan.FromSeconds(30), $"the full batch waited {took} instead of running at once.");
        foreach (var stream in streams) await stream.DisposeAsync();
    }

    [Fact]
    public async Task EightRequestsSentAheadOnOneStreamAreAnsweredInOrderFromOneSharedForward()
    {
        // Arrange: MaxDelay far longer than the test, and a student that may send at any moment, so
        // that only a full batch can start the forward.
        await using var teacher = await BatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxBatch"] = "64", ["MaxDelayMs"] = "20000" });
        await using var idle = await teacher.OpenIdleStreamAsync();
        var forwardsBefore = teacher.Metrics.Forwards;
        await using var stream = teacher.Server.OpenStream();

        // Act: eight requests of eight before reading any answer.
        for (int i = 0; i < 8; i++) await stream.SendAsync(TestImages.Request(2500 + 8 * i, 8, id: $"ahead {i}"));
        var responses = new List<SoftTargetsResponse>();
        for (int i = 0; i < 8; i++) responses.Add(await stream.ReadAsync());

        // Assert: answered together, each reply to its own request, in the order sent.
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"ahead {i}"), responses.Select(r => r.RequestId));
        for (int i = 0; i < 8; i++)
            TestImages.AssertClose(teacher.Reference.LogProbs(TestImages.Pixels(2500 + 8 * i, 8), 8, 1f), TestImages.LogProbs(responses[i]), 1e-5);
        Assert.Equal(1, teacher.Metrics.Forwards - forwardsBefore);
        Assert.Equal(64, teacher.Metrics.LargestBatch);
    }

    [Fact]
    public async Task AStreamComputesNoMoreThanItsInFlightLimitAtOnce()
    {
        // Arrange: two requests at a time per stream, a MaxDelay far longer than the test, and a
        // student that may send at any moment.
        await using var teacher = await BatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxBatch"] = "24", ["MaxDelayMs"] = "20000" },
            extra: new Dictionary<string, string> { ["Streams:MaxInFlight"] = "2" });
        await using var idle = await teacher.OpenIdleStreamAsync();
        var forwardsBefore = teacher.Metrics.Forwards;
        await using var stream = teacher.Server.OpenStream();

        // Act: three requests of eight sent ahead; only two are read, so 16 examples wait for a forward of 24.
        for (int i = 0; i < 3; i++) await stream.SendAsync(TestImages.Request(2600 + 8 * i, 8));
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var queuedWithTwoRead = teacher.Metrics.Forwards - forwardsBefore;
        // A second stream's request fills the forward: the first two requests are answered, then the third is read.
        await using var other = teacher.Server.OpenStream();
        await other.SendAsync(TestImages.Request(2700, 8));
        var first = await stream.ReadAsync();
        var second = await stream.ReadAsync();

        // Assert
        Assert.Equal(0, queuedWithTwoRead);
        TestImages.AssertSucceeded(first);
        TestImages.AssertSucceeded(second);
        Assert.Equal(1, teacher.Metrics.Forwards - forwardsBefore);
        Assert.Equal(24, teacher.Metrics.LargestBatch);
    }

    [Fact]
    public async Task WithBatchingOffEveryRequestRunsAForwardOfItsOwn()
    {
        // Arrange
        await using var teacher = await BatchingTeacher.StartAsync(new Dictionary<string, string> { ["Enabled"] = "false" });

        // Act
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => teacher.AskOnceAsync(TestImages.Request(2100 + 8 * i, 8))));

        // Assert
        for (int i = 0; i < responses.Length; i++)
            TestImages.AssertClose(teacher.Reference.LogProbs(TestImages.Pixels(2100 + 8 * i, 8), 8, 1f), TestImages.LogProbs(responses[i].Response), 1e-5);
        Assert.Equal(8, teacher.Metrics.Forwards);
        Assert.Equal(8, teacher.Metrics.LargestBatch);
    }

    [Fact]
    public async Task ACancelledStreamsQueuedExamplesAreDroppedNotComputed()
    {
        // Arrange: a MaxDelay longer than the test, and a student that may send at any moment, keep a
        // small request queued until its stream goes.
        await using var teacher = await BatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxBatch"] = "256", ["MaxDelayMs"] = "30000" });
        await using var idle = await teacher.OpenIdleStreamAsync();
        var (forwardsBefore, computedBefore) = (teacher.Metrics.Forwards, teacher.Metrics.ExamplesComputed);
        using var cancel = new CancellationTokenSource();
        using var doomed = teacher.Server.Client.SoftTargets(cancellationToken: cancel.Token);
        await doomed.RequestStream.WriteAsync(TestImages.Request(2200, 8));
        await BatchingTeacher.EventuallyAsync(() => teacher.Metrics.QueuedExamples == 8, "the 8 examples are queued");

        // Act
        cancel.Cancel();
        await BatchingTeacher.EventuallyAsync(() => teacher.Metrics.QueuedExamples == 0, "the queue is empty again");
        var (full, _) = await teacher.AskOnceAsync(TestImages.Request(2300, 256));

        // Assert: only the full batch, which runs at once, was computed.
        TestImages.AssertSucceeded(full);
        Assert.Equal(8, teacher.Metrics.DroppedExamples);
        Assert.Equal(1, teacher.Metrics.Forwards - forwardsBefore);
        Assert.Equal(256, teacher.Metrics.ExamplesComputed - computedBefore);
    }

    [Fact]
    public async Task AStudentAloneWaitingForEachAnswerIsNotHeldForCompanyThatCannotCome()
    {
        // Arrange: MaxDelay (60 s, the most allowed) far longer than the test, so that a request that
        // waited for it would fail the test.
        await using var teacher = await BatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxBatch"] = "256", ["MaxDelayMs"] = "60000" });
        await using var stream = teacher.Server.OpenStream();

        // Act: four small requests, each sent once the one before is answered.
        var watch = Stopwatch.StartNew();
        var responses = new List<SoftTargetsResponse>();
        for (int i = 0; i < 4; i++) responses.Add(await stream.AskAsync(TestImages.Request(2400 + 8 * i, 8)));
        var took = watch.Elapsed;

        // Assert: every forward started as soon as its request came, the only stream's, with nobody else to wait for.
        for (int i = 0; i < 4; i++)
            TestImages.AssertClose(teacher.Reference.LogProbs(TestImages.Pixels(2400 + 8 * i, 8), 8, 1f), TestImages.LogProbs(responses[i]), 1e-5);
        Assert.Equal(4, teacher.Metrics.Forwards);
        Assert.True(took < TimeSpan.FromSeconds(30), $"four requests took {took}: a forward waited for MaxDelay.");
    }

    [Fact]
    public async Task AnIdleStudentIsWaitedForUntilItsStreamEnds()
    {
        // Arrange: a student that asked once and keeps its stream open.
        await using var teacher = await BatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxBatch"] = "256", ["MaxDelayMs"] = "60000" });
        var idle = await teacher.OpenIdleStreamAsync();
        await using var stream = teacher.Server.OpenStream();
        var asked = stream.AskAsync(TestImages.Request(2450, 8));
        await BatchingTeacher.EventuallyAsync(() => teacher.Metrics.QueuedExamples == 8, "the 8 examples are queued");
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        var queuedWhileIdleStreamOpen = teacher.Metrics.QueuedExamples;

        // Act: the idle student goes away.
        await idle.DisposeAsync();
        var response = await asked.WaitAsync(TimeSpan.FromSeconds(30));

        // Assert: the request waited while the idle student could still send, and ran once it could not.
        Assert.Equal(8, queuedWhileIdleStreamOpen);
        TestImages.AssertClose(teacher.Reference.LogProbs(TestImages.Pixels(2450, 8), 8, 1f), TestImages.LogProbs(response), 1e-5);
        Assert.Equal(2, teacher.Metrics.Forwards);
    }

    private static void UseFloatPixels(SoftTargetsRequest request)
    {
        var floats = request.Inputs.Data.Span.ToArray().Select(p => p / 255f).ToArray();
        request.Inputs.Dtype = DType.Float32;
        request.Inputs.Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(floats.AsSpan()));
    }
}
