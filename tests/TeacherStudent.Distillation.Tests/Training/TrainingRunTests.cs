using System.Security.Cryptography;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Training;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Training;

/// <summary>
/// Whole training runs on a small real subset of Fashion-MNIST, with a teacher in process. They
/// seed torch's one global generator, so they run alone, not beside other tests that draw from it.
/// </summary>
[Collection(TorchGlobalRandomness.Name)]
public sealed class TrainingRunTests : IDisposable
{
    private static readonly Lazy<(ImageDataset Train, ImageDataset Test)> Data = new(() =>
        (FashionMnist.LoadTrain(FashionMnist.DefaultDirectory).Take(1200), FashionMnist.LoadTest(FashionMnist.DefaultDirectory).Take(500)));

    private readonly string directory = Directory.CreateTempSubdirectory("ts-run-").FullName;

    private static ModelSoftTargetSource Teacher(double temperature)
    {
        manual_seed(5);
        var spec = ModelSpec.ForFashionMnist(ConvNet.Name, 4);
        return new ModelSoftTargetSource("fashion", "v-test", spec, spec.Create(), temperature);
    }

    private TrainingRun Run(TrainingSettings settings, string name, ISoftTargetSource? teacher,
        IProgress<BatchProgress>? progress = null, Action<EpochMetrics>? epochDone = null, Action<int>? resuming = null) =>
        new(settings, Data.Value.Train, Data.Value.Test, CPU, Path.Combine(directory, name), teacher, Path.Combine(directory, "targets"))
        {
            Progress = progress,
            EpochCompleted = epochDone,
            Resuming = resuming,
        };

    private static TrainingSettings Student(TrainingMode mode, int epochs = 2) =>
        new() { Mode = mode, Architecture = Mlp.Name, Width = 32, Epochs = epochs, BatchSize = 100, Temperature = 4, Alpha = 0.9 };

    [Fact]
    public async Task AnOfflineStudentAsksTheTeacherOnlyToFetchItsTargetsAndKeepsThemInAFile()
    {
        var teacher = Teacher(4);

        var history = await Run(Student(TrainingMode.Offline, epochs: 3), "offline", teacher).RunAsync(CancellationToken.None);

        Assert.Equal(3, history.Count);
        Assert.Equal((1200 + TrainingRun.FetchChunk - 1) / TrainingRun.FetchChunk, teacher.Requests);
        Assert.Single(Directory.GetFiles(Path.Combine(directory, "targets"), "*.targets"));
        Assert.All(history, m => Assert.Equal(["v-test"], m.TeacherVersions));
    }

    [Fact]
    public async Task AReRunOfAnOfflineStudentNeedsNoTeacherOnceItsTargetsAreStored()
    {
        await Run(Student(TrainingMode.Offline), "first", Teacher(4)).RunAsync(CancellationToken.None);

        var history = await Run(Student(TrainingMode.Offline), "second", new GoneTeacher()).RunAsync(CancellationToken.None);

        Assert.Equal(2, history.Count);
        Assert.Equal(["v-test"], history[^1].TeacherVersions);
    }

    [Fact]
    public async Task AReRunOfAnOfflineStudentWaitsOnlyBrieflyForATeacherThatDoesNotAnswerWhenItsTargetsAreStored()
    {
        await Run(Student(TrainingMode.Offline, epochs: 1), "first", Teacher(4)).RunAsync(CancellationToken.None);
        var silent = new SilentTeacher();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var history = await new TrainingRun(Student(TrainingMode.Offline, epochs: 1), Data.Value.Train, Data.Value.Test, CPU,
                Path.Combine(directory, "second"), silent, Path.Combine(directory, "targets")) { StandInWait = TimeSpan.FromMilliseconds(300) }
            .RunAsync(CancellationToken.None);

        Assert.Equal(["v-test"], history[^1].TeacherVersions);
        Assert.True(silent.WasCancelled);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task AnOnlineStudentAsksTheTeacherForEveryBatchOfEveryEpoch()
    {
        var teacher = Teacher(4);

        await Run(Student(TrainingMode.Online) with { Augment = true }, "online", teacher).RunAsync(CancellationToken.None);

        Assert.Equal(2 * 1200 / 100, teacher.Requests);
    }

    [Fact]
    public async Task SupervisedTrainingWithNLabelsSeesOnlyThoseNExamples()
    {
        var batches = new List<int>();

        await Run(Student(TrainingMode.Supervised, epochs: 1) with { LabelledExamples = 250 }, "few",
            null, new SynchronousProgress(p => batches.Add(p.Batches))).RunAsync(CancellationToken.None);

        Assert.All(batches, b => Assert.Equal(3, b)); // 250 examples in batches of 100
    }

    [Fact]
    public async Task ATeacherTaughtStudentSeesEveryInputEvenWithFewLabels()
    {
        var batches = new List<int>();

        await Run(Student(TrainingMode.Offline, epochs: 1) with { LabelledExamples = 250 }, "few-offline",
            Teacher(4), new SynchronousProgress(p => batches.Add(p.Batches))).RunAsync(CancellationToken.None);

        Assert.All(batches, b => Assert.Equal(12, b));
    }

    [Fact]
    public async Task ARunStoppedAfterAnEpochResumesThereAndEndsWhereAnUninterruptedRunEnds()
    {
        var settings = Student(TrainingMode.Online, epochs: 3) with { Augment = true };
        var whole = await Run(settings, "whole", Teacher(4)).RunAsync(CancellationToken.None);

        using var stop = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Run(settings, "interrupted", Teacher(4), epochDone: _ => stop.Cancel()).RunAsync(stop.Token));
        int resumedAfter = 0;
        var resumed = await Run(settings, "interrupted", Teacher(4), resuming: done => resumedAfter = done).RunAsync(CancellationToken.None);

        Assert.Equal(1, resumedAfter);
        Assert.Equal([1, 2, 3], resumed.Select(m => m.Epoch));
        Assert.Equal(whole[^1].EvalLoss, resumed[^1].EvalLoss, 4);
        Assert.Equal(whole[^1].EvalAccuracy, resumed[^1].EvalAccuracy, 3);
    }

    [Fact]
    public async Task ARunDirectoryWithOtherSettingsIsRefused()
    {
        await Run(Student(TrainingMode.Supervised, epochs: 1), "same", null).RunAsync(CancellationToken.None);

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            Run(Student(TrainingMode.Supervised, epochs: 1) with { Width = 64 }, "same", null).RunAsync(CancellationToken.None));

        Assert.Contains("other settings", error.Message);
    }

    [Fact]
    public async Task AFunctionMatchingStudentIsTaughtOnMixedCroppedViewsThatNeverRepeat()
    {
        // Arrange: the teacher records the digest of every view it is asked about.
        var teacher = new RecordingTeacher(Teacher(4));
        var settings = Student(TrainingMode.Online) with { Alpha = 1, Augment = true, Crops = true, Mixup = true };

        // Act
        var history = await Run(settings, "function-matching", teacher).RunAsync(CancellationToken.None);

        // Assert: every view the student trained on went to the teacher; none was a training image as it is,
        // and none came twice.
        Assert.Equal(2, history.Count);
        Assert.Equal(2 * 1200, teacher.Views.Count);
        var originals = Enumerable.Range(0, Data.Value.Train.Count).Select(i => Convert.ToHexString(SHA256.HashData(Data.Value.Train.Example(i)))).ToHashSet();
        Assert.DoesNotContain(teacher.Views, originals.Contains);
        Assert.Equal(teacher.Views.Count, teacher.Views.Distinct().Count());
    }

    [Theory]
    [InlineData(TrainingMode.Offline, 1.0)]
    [InlineData(TrainingMode.Online, 0.9)]
    public async Task MixupIsRefusedWhereAMixedImageWouldNeedALabel(TrainingMode mode, double alpha)
    {
        var settings = Student(mode) with { Alpha = alpha, Mixup = true };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => Run(settings, "mixup", Teacher(4)).RunAsync(CancellationToken.None));

        Assert.Contains("mixup makes images with no one label", error.Message);
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    /// <summary>A teacher that answers as <paramref name="inner"/> does and keeps the SHA-256 of every example it was asked about.</summary>
    private sealed class RecordingTeacher(ISoftTargetSource inner) : ISoftTargetSource
    {
        public List<string> Views { get; } = [];

        public Task<TeacherIdentity> DescribeAsync(CancellationToken cancellationToken) => inner.DescribeAsync(cancellationToken);

        public Task<SoftTargetBatch> GetAsync(ReadOnlyMemory<byte> pixels, int count, CancellationToken cancellationToken)
        {
            var size = pixels.Length / count;
            lock (Views)
                for (int i = 0; i < count; i++) Views.Add(Convert.ToHexString(SHA256.HashData(pixels.Span.Slice(i * size, size))));
            return inner.GetAsync(pixels, count, cancellationToken);
        }
    }

    /// <summary>A teacher service that has gone away: every call fails as an unreachable one would.</summary>
    private sealed class GoneTeacher : ISoftTargetSource
    {
        public Task<TeacherIdentity> DescribeAsync(CancellationToken cancellationToken) =>
            Task.FromException<TeacherIdentity>(new HttpRequestException("connection refused"));

        public Task<SoftTargetBatch> GetAsync(ReadOnlyMemory<byte> pixels, int count, CancellationToken cancellationToken) =>
            Task.FromException<SoftTargetBatch>(new HttpRequestException("connection refused"));
    }

    /// <summary>A teacher service that is there but never answers (or one a retrying client keeps waiting for).</summary>
    private sealed class SilentTeacher : ISoftTargetSource
    {
        public bool WasCancelled { get; private set; }

        public async Task<TeacherIdentity> DescribeAsync(CancellationToken cancellationToken)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                WasCancelled = true;
                throw;
            }
            throw new InvalidOperationException("unreachable");
        }

        public Task<SoftTargetBatch> GetAsync(ReadOnlyMemory<byte> pixels, int count, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a run with stored targets should not ask for more.");
    }

    /// <summary>Progress reported on the caller's thread (Progress&lt;T&gt; would post it elsewhere).</summary>
    private sealed class SynchronousProgress(Action<BatchProgress> report) : IProgress<BatchProgress>
    {
        public void Report(BatchProgress value) => report(value);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchGlobalRandomness
{
    public const string Name = "torch global random generator";
}
