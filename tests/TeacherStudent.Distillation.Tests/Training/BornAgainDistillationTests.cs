using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Training;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Training;

/// <summary>
/// Self-distillation on a small real subset of Fashion-MNIST: generations that each learn from
/// the one before, in process, and resume where they stopped.
/// </summary>
[Collection(TorchGlobalRandomness.Name)]
public sealed class BornAgainDistillationTests : IDisposable
{
    private static readonly Lazy<(ImageDataset Train, ImageDataset Test)> Data = new(() =>
        (FashionMnist.LoadTrain(FashionMnist.DefaultDirectory).Take(1000), FashionMnist.LoadTest(FashionMnist.DefaultDirectory).Take(400)));

    private readonly string directory = Directory.CreateTempSubdirectory("ts-self-").FullName;

    private static readonly TrainingSettings Settings =
        new() { Architecture = Mlp.Name, Width = 32, Epochs = 2, BatchSize = 50, LearningRate = 5e-3, Temperature = 4, Alpha = 0.9 };

    private BornAgainDistillation Self(string name, int generations, Action<int, EpochMetrics>? epochDone = null,
        Action<int, int>? resuming = null, Action<int, TeacherIdentity?>? starting = null) =>
        new(Settings, generations, Data.Value.Train, Data.Value.Test, CPU, Path.Combine(directory, name))
        {
            EpochCompleted = epochDone,
            Resuming = resuming,
            GenerationStarting = starting,
        };

    [Fact]
    public async Task EveryGenerationAfterTheFirstIsTaughtByTheCheckpointOfTheOneBefore()
    {
        var self = Self("chain", generations: 3);

        var generations = await self.RunAsync(CancellationToken.None);

        Assert.Equal([1, 2, 3], generations.Select(g => g.Generation));
        Assert.Equal([TrainingMode.Supervised, TrainingMode.Offline, TrainingMode.Offline], generations.Select(g => g.Mode));
        Assert.Null(generations[0].TeacherVersion);
        Assert.Empty(generations[0].History.SelectMany(m => m.TeacherVersions));
        for (int g = 1; g < 3; g++)
        {
            var teacherCheckpoint = Path.Combine(self.GenerationDirectory(g), "model.ckpt");
            Assert.Equal(Checkpoint.Digest(teacherCheckpoint), generations[g].TeacherVersion);
            Assert.Equal(generations[g - 1].Version, generations[g].TeacherVersion);
            Assert.All(generations[g].History, m => Assert.Equal([generations[g - 1].Version], m.TeacherVersions));
        }
        Assert.Equal(3, generations.Select(g => g.Version).Distinct().Count());
        Assert.All(generations, g => Assert.Equal(2, g.History.Count));
        Assert.All(generations, g => Assert.True(g.Accuracy > 0.5, $"generation {g.Generation} reached only {g.Accuracy}"));
    }

    [Fact]
    public async Task ASelfRunStoppedInTheMiddleOfAGenerationResumesAtThatGenerationAndEpoch()
    {
        var whole = await Self("whole", generations: 2).RunAsync(CancellationToken.None);

        using var stop = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Self("stopped", 2, epochDone: (g, m) => { if (g == 2 && m.Epoch == 1) stop.Cancel(); }).RunAsync(stop.Token));
        var resumed = new List<(int Generation, int Done)>();
        var trainedAgain = new List<(int Generation, int Epoch)>();
        var again = await Self("stopped", 2, epochDone: (g, m) => trainedAgain.Add((g, m.Epoch)), resuming: (g, done) => resumed.Add((g, done)))
            .RunAsync(CancellationToken.None);

        Assert.Equal([(1, 2), (2, 1)], resumed);
        Assert.Equal([(2, 2)], trainedAgain);
        Assert.Equal(whole.Select(g => g.TeacherVersion), again.Select(g => g.TeacherVersion));
        Assert.Equal(whole[^1].Loss, again[^1].Loss, 4);
        Assert.Equal(whole[^1].Accuracy, again[^1].Accuracy, 3);
    }

    [Fact]
    public async Task OneGenerationIsPlainSupervisedTrainingWithNoTeacher()
    {
        var teachers = new List<TeacherIdentity?>();

        var generations = await Self("one", 1, starting: (_, t) => teachers.Add(t)).RunAsync(CancellationToken.None);

        Assert.Equal(TrainingMode.Supervised, Assert.Single(generations).Mode);
        Assert.Equal([null], teachers);
        Assert.False(Directory.Exists(Path.Combine(directory, "one", "targets")));
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
