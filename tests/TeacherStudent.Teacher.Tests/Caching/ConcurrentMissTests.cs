using Google.Protobuf;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;

namespace TeacherStudent.Teacher.Tests.Caching;

/// <summary>
/// Concurrent misses of one example run the model once. A long MaxDelay (5 s) keeps the first
/// request's examples queued while the second arrives: each test waits for the first to be queued
/// before sending the second, so that the two never race the delay (with 0.5 s and both sent at
/// once, a loaded machine could let the first run alone).
/// </summary>
public sealed class ConcurrentMissTests
{
    [Fact]
    public async Task TwoStreamsAskingForTheSameNewExamplesAtOnceCostOneForwardOfThem()
    {
        // Arrange: a student that may send at any moment, so that the first caller's examples wait MaxDelay for company.
        await using var teacher = await BatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxDelayMs"] = "5000" });
        await using var idle = await teacher.OpenIdleStreamAsync();
        var computedBefore = teacher.Metrics.ExamplesComputed;
        var request = TestImages.Request(9000, 16, temperature: 2f);

        // Act: the second asks while the first one's examples wait for their forward.
        var first = teacher.AskOnceAsync(request);
        await BatchingTeacher.EventuallyAsync(() => teacher.Metrics.QueuedExamples == 16, "the first caller's examples are queued");
        var answers = await Task.WhenAll(first, teacher.AskOnceAsync(request));

        // Assert
        Assert.Equal(16, teacher.Metrics.ExamplesComputed - computedBefore);
        Assert.Equal(16, teacher.Metrics.Coalesced);
        Assert.All(answers, a => Assert.Equal(0, a.Response.CacheHits));
        Assert.Equal(answers[0].Response.LogProbs.Data, answers[1].Response.LogProbs.Data);
        TestImages.AssertClose(teacher.Reference.LogProbs(TestImages.Pixels(9000, 16), 16, 2f), TestImages.LogProbs(answers[1].Response), 1e-5);
    }

    [Fact]
    public async Task ACancelledFirstCallerDoesNotFailASecondOneWaitingForTheSameExamples()
    {
        // Arrange: the first caller's examples wait in the queue (MaxDelay, for a student that may send at
        // any moment), and the second caller waits for them.
        await using var teacher = await BatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxDelayMs"] = "5000" });
        await using var idle = await teacher.OpenIdleStreamAsync();
        var computedBefore = teacher.Metrics.ExamplesComputed;
        using var cancel = new CancellationTokenSource();
        using var first = teacher.Server.Client.SoftTargets(cancellationToken: cancel.Token);
        await first.RequestStream.WriteAsync(TestImages.Request(9100, 16));
        await BatchingTeacher.EventuallyAsync(() => teacher.Metrics.QueuedExamples == 16, "the first caller's examples are queued");
        var second = teacher.AskOnceAsync(TestImages.Request(9100, 16));
        await BatchingTeacher.EventuallyAsync(() => teacher.Metrics.Coalesced == 16, "the second caller waits for the first one's examples");

        // Act
        cancel.Cancel();
        var (response, _) = await second;

        // Assert: the first caller's examples were dropped; the second computed them itself.
        TestImages.AssertClose(teacher.Reference.LogProbs(TestImages.Pixels(9100, 16), 16, 1f), TestImages.LogProbs(response), 1e-5);
        Assert.Equal(16, teacher.Metrics.DroppedExamples);
        Assert.Equal(16, teacher.Metrics.ExamplesComputed - computedBefore);
    }

    [Fact]
    public async Task AnExampleRepeatedWithinOneRequestIsComputedOnce()
    {
        // Arrange: one image four times over.
        await using var teacher = await BatchingTeacher.StartAsync(new Dictionary<string, string>());
        var image = TestImages.Pixels(9200, 1).ToArray();
        var request = TestImages.Request(9200, 4);
        request.Inputs.Data = ByteString.CopyFrom([.. image, .. image, .. image, .. image]);

        // Act
        var (response, _) = await teacher.AskOnceAsync(request);

        // Assert
        Assert.Equal(1, teacher.Metrics.ExamplesComputed);
        var expected = teacher.Reference.LogProbs(image, 1, 1f);
        TestImages.AssertClose([.. expected, .. expected, .. expected, .. expected], TestImages.LogProbs(response), 1e-5);
    }
}
