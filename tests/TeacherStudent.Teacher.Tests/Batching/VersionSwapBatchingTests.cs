using Microsoft.Extensions.DependencyInjection;
using TeacherStudent.Teacher.Batching;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Batching;

/// <summary>Every teacher version has a batcher of its own.</summary>
public sealed class VersionSwapBatchingTests
{
    [Fact]
    public async Task ExamplesQueuedForAVersionSwappedOutAreAnsweredByThatVersionAndItsBatcherThenStops()
    {
        // Arrange: a MaxDelay long enough to swap versions while the first request's examples wait for
        // company (a student that may send at any moment).
        await using var teacher = await BatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxDelayMs"] = "1000" });
        await using var idle = await teacher.OpenIdleStreamAsync();
        using var directory = new TemporaryDirectory();
        var retrained = TeacherCheckpoints.Create(directory.File("retrained.ckpt"), seed: 99);
        using var retrainedReference = new ReferenceTeacher(retrained);
        var batchers = teacher.Server.Services.GetRequiredService<BatcherPool>();
        var onOld = teacher.AskOnceAsync(TestImages.Request(9300, 8));
        await BatchingTeacher.EventuallyAsync(() => teacher.Metrics.QueuedExamples == 8, "the first request's examples are queued");

        // Act
        var swap = await teacher.Server.Services.GetRequiredService<TeacherLoader>().LoadAsync("fashion", retrained, null, CancellationToken.None);
        var onNew = teacher.AskOnceAsync(TestImages.Request(9300, 8));
        var (old, _) = await onOld;
        var (@new, _) = await onNew;

        // Assert
        Assert.Equal(swap.PreviousVersion, old.TeacherVersion);
        TestImages.AssertClose(teacher.Reference.LogProbs(TestImages.Pixels(9300, 8), 8, 1f), TestImages.LogProbs(old), 1e-5);
        Assert.Equal(swap.Version, @new.TeacherVersion);
        TestImages.AssertClose(retrainedReference.LogProbs(TestImages.Pixels(9300, 8), 8, 1f), TestImages.LogProbs(@new), 1e-5);
        await BatchingTeacher.EventuallyAsync(() => batchers.Count == 1, "only the new version's batcher runs");
    }
}
