using Grpc.Net.Client;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;
using TeacherStudent.StudentTrainer.TeacherClient;
using static TorchSharp.torch;

namespace TeacherStudent.StudentTrainer.Tests.TeacherClient;

/// <summary>
/// The student's soft-target source against a real teacher process: pixels until the teacher's
/// cache holds a whole batch, then digests, and pixels again for a batch the cache lacks.
/// </summary>
public sealed class DigestRequestTests : IAsyncLifetime
{
    private const int Batch = 32;
    private readonly TemporaryDirectory directory = new("digest-request-tests");
    private RunningProcess teacher = null!;
    private GrpcChannel channel = null!;
    private readonly ImageDataset images = FashionMnist.LoadTest(FashionMnist.DefaultDirectory);

    public async Task InitializeAsync()
    {
        var checkpoint = directory.File("teacher.ckpt");
        manual_seed(3);
        var spec = ModelSpec.ForFashionMnist(Mlp.Name, 16);
        using (var model = spec.Create()) Checkpoint.Save(checkpoint, spec, model);
        teacher = RunningProcess.Start(Builds.Teacher,
            ["--urls", "http://127.0.0.1:0", "--Teacher:Name=fashion", $"--Teacher:Checkpoint={checkpoint}", "--Teacher:Device=cpu"]);
        var address = await teacher.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1));
        channel = GrpcChannel.ForAddress(address);
    }

    private GrpcSoftTargetSource Source(bool uncached = false) =>
        new(new Contracts.V1.Teacher.TeacherClient(channel), new TeacherClientOptions { Teacher = "fashion", TimeoutSeconds = 30 }, 2, [1, 28, 28],
            new TeacherRetry(TimeSpan.FromSeconds(30), _ => { }))
        {
            Uncached = uncached,
        };

    private ReadOnlyMemory<byte> Pixels(int batch) => images.Pixels.AsMemory(batch * Batch * images.ExampleSize, Batch * images.ExampleSize);

    [Fact]
    public async Task ALaterEpochIsAskedByDigestAndGetsTheTargetsTheFirstEpochGot()
    {
        // Arrange: a first epoch of two batches, sent as pixels.
        await using var source = Source();
        var first = new[] { await source.GetAsync(Pixels(0), Batch, default), await source.GetAsync(Pixels(1), Batch, default) };
        var pixelsAfterFirstEpoch = source.ExamplesByPixels;

        // Act: the second epoch; batch 0 comes back wholly from the cache, so batch 1 goes as digests.
        var second = new[] { await source.GetAsync(Pixels(0), Batch, default), await source.GetAsync(Pixels(1), Batch, default) };

        // Assert
        Assert.Equal(2 * Batch, pixelsAfterFirstEpoch);
        Assert.Equal(3 * Batch, source.ExamplesByPixels);
        Assert.Equal(Batch, source.ExamplesByDigest);
        Assert.Equal(first[1].LogProbs, second[1].LogProbs);
        Assert.Equal(first[1].TeacherVersion, second[1].TeacherVersion);
    }

    [Fact]
    public async Task AnUncachedSourceSendsPixelsEveryTimeAndLeavesTheTeachersCacheEmpty()
    {
        // Arrange: views that never repeat, asked twice all the same (batch 2, which no other test asks).
        await using var uncached = Source(uncached: true);
        var first = await uncached.GetAsync(Pixels(2), Batch, default);
        var again = await uncached.GetAsync(Pixels(2), Batch, default);

        // Act: a student of cached views asks the same batch twice.
        await using var cached = Source();
        await cached.GetAsync(Pixels(2), Batch, default);
        var pixelsOfTheFirst = cached.ExamplesByPixels;
        await cached.GetAsync(Pixels(2), Batch, default);

        // Assert: the uncached source never switched to digests; the cached one found nothing the first time
        // (the teacher kept none of the uncached views), so it sent its second batch as pixels too.
        Assert.Equal((2 * Batch, 0L), (uncached.ExamplesByPixels, uncached.ExamplesByDigest));
        Assert.Equal(first.LogProbs, again.LogProbs);
        Assert.Equal((Batch, 2L * Batch, 0L), (pixelsOfTheFirst, cached.ExamplesByPixels, cached.ExamplesByDigest));
    }

    [Fact]
    public async Task ABatchTheCacheLacksIsSentAgainAsPixelsAndAnsweredInFull()
    {
        // Arrange: batch 2 answered twice, so the source asks by digest next.
        await using var source = Source();
        await source.GetAsync(Pixels(2), Batch, default);
        await source.GetAsync(Pixels(2), Batch, default);

        // Act: batch 3 was never asked for: its digests miss, and its pixels follow.
        var fresh = await source.GetAsync(Pixels(3), Batch, default);
        var again = await source.GetAsync(Pixels(3), Batch, default);

        // Assert: answered in full (no NaN rows), by pixels twice (the second after a fresh start as pixels).
        Assert.All(fresh.LogProbs, p => Assert.True(float.IsFinite(p)));
        Assert.Equal(fresh.LogProbs, again.LogProbs);
        Assert.Equal(0, source.ExamplesByDigest);
        Assert.Equal(4 * Batch, source.ExamplesByPixels);
    }

    public async Task DisposeAsync()
    {
        channel.Dispose();
        teacher.Dispose();
        directory.Dispose();
    }
}
