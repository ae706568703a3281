using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Training;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Training;

/// <summary>A run that publishes its checkpoint for a teacher service that watches a folder.</summary>
[Collection(TorchGlobalRandomness.Name)]
public sealed class CheckpointPublisherTests : IDisposable
{
    private static readonly Lazy<(ImageDataset Train, ImageDataset Test)> Data = new(() =>
        (FashionMnist.LoadTrain(FashionMnist.DefaultDirectory).Take(600), FashionMnist.LoadTest(FashionMnist.DefaultDirectory).Take(200)));

    private readonly string directory = Directory.CreateTempSubdirectory("ts-publish-").FullName;

    private string Published => Path.Combine(directory, "watched");

    private TrainingRun Run(int epochs, Action<EpochMetrics>? epochDone = null) =>
        new(new TrainingSettings { Architecture = Mlp.Name, Width = 16, Epochs = epochs, BatchSize = 100 },
            Data.Value.Train, Data.Value.Test, CPU, Path.Combine(directory, "run"), null, Path.Combine(directory, "targets"))
        {
            Publisher = new CheckpointPublisher(Published, "teacher-a"),
            EpochCompleted = epochDone,
        };

    [Fact]
    public async Task AfterEveryEpochTheRunsCheckpointIsPublishedAsNameDotCkptWithANewDigest()
    {
        var digests = new List<string>();
        TrainingRun? run = null;
        run = Run(3, _ =>
        {
            var published = Path.Combine(Published, "teacher-a.ckpt");
            Assert.Equal(File.ReadAllBytes(run!.ModelPath), File.ReadAllBytes(published));
            digests.Add(Checkpoint.Digest(published));
        });

        await run.RunAsync(CancellationToken.None);

        Assert.Equal(3, digests.Distinct().Count());
        Assert.Equal(["teacher-a.ckpt"], Directory.GetFiles(Published).Select(Path.GetFileName)); // no temporary file left behind
        var (spec, model, version) = Checkpoint.LoadVersioned(Path.Combine(Published, "teacher-a.ckpt"), CPU);
        model.Dispose();
        Assert.Equal((Mlp.Name, digests[^1]), (spec.Architecture, version));
    }

    [Fact]
    public async Task AWatcherReadingThePublishedFileAllTheTimeOnlyEverSeesWholeCheckpoints()
    {
        var published = Path.Combine(Published, "teacher-a.ckpt");
        var whole = new HashSet<string>();
        var seen = new HashSet<string>();
        int reads = 0;
        using var stop = new CancellationTokenSource();
        var watcher = Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    seen.Add(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(published))));
                    Interlocked.Increment(ref reads);
                }
                catch (FileNotFoundException) { /* not published yet */ }
                catch (DirectoryNotFoundException) { /* not published yet */ }
            }
        }, TaskCreationOptions.LongRunning);
        TrainingRun? run = null;
        run = Run(4, _ => whole.Add(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(run!.ModelPath)))));

        await run.RunAsync(CancellationToken.None);
        // However the threads were scheduled, the watcher reads at least once before it stops.
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref reads) > 0, TimeSpan.FromSeconds(30)));
        await stop.CancelAsync();
        await watcher;

        Assert.NotEmpty(seen);
        Assert.Subset(whole, seen); // anything else would be a half-written file
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
