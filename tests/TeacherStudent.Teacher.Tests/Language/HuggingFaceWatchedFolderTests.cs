using System.Runtime.InteropServices;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests.Language;

/// <summary>
/// Hugging Face model directories in the watched folder (Registry:WatchDirectory): <c>&lt;folder&gt;/hf/</c> is teacher
/// hf's checkpoint, and a new version written into it in place, or renamed into place, is loaded once its files are
/// quiet; a half-written or broken one leaves the old version serving.
/// </summary>
public sealed class HuggingFaceWatchedFolderTests(TinyModels models) : IClassFixture<TinyModels>, IAsyncLifetime
{
    private const string Hf = "hf", Other = "other";
    private readonly TemporaryDirectory directory = new("hf-watched-folder-tests");
    private TeacherServer server = null!;
    private LanguageModel first = null!, second = null!;

    private string Watched => Path.Combine(directory.Path, "watched");
    private string Served => Path.Combine(Watched, Hf);

    public async Task InitializeAsync()
    {
        first = HuggingFaceCheckpoint.Load(models.Original(HuggingFaceSwapTests.First), CPU);
        second = HuggingFaceCheckpoint.Load(models.Original(HuggingFaceSwapTests.Second), CPU);
        models.Copy(HuggingFaceSwapTests.First, Served);
        models.Copy(HuggingFaceSwapTests.First, Path.Combine(Watched, Other));
        server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teachers:0:Name"] = Hf,
            ["Teachers:0:Checkpoint"] = Served,
            ["Teachers:0:Device"] = "cpu",
            // A second teacher in the folder, whose swap shows that the watcher has looked at what came before it.
            ["Teachers:1:Name"] = Other,
            ["Teachers:1:Checkpoint"] = Path.Combine(Watched, Other),
            ["Teachers:1:Device"] = "cpu",
            ["Registry:WatchDirectory"] = Watched,
            ["Registry:WatchDebounceMilliseconds"] = "200",
        });
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        first.Dispose();
        second.Dispose();
        directory.Dispose();
    }

    private int[] Tokens => first.EncodeEntries(["Call me Ishmael.", "Sphinx of black quartz, judge my vow."]).AsSpan(0, 2 * 10).ToArray();

    private async Task<SoftTargetsResponse> AskAsync()
    {
        await using var stream = server.OpenStream();
        return await stream.AskAsync(HuggingFaceSwapTests.Dense(Tokens, 2, 10));
    }

    private void AssertServes(LanguageModel model, SoftTargetsResponse reply)
    {
        Assert.Equal(model.Version, reply.TeacherVersion);
        var expected = SequenceTargets.Compute(model, Tokens, 2, 10, new SequenceTargetSettings(2f)).LogProbs;
        TestImages.AssertClose(expected, MemoryMarshal.Cast<byte, float>(reply.LogProbs.Data.Span).ToArray(), 1e-5);
    }

    // Each file written to a temporary name beside it and renamed into place, config.json last, as HuggingFaceCheckpoint.Save writes.
    private static void WriteInPlace(string source, string target)
    {
        var files = Directory.GetFiles(source).OrderBy(f => Path.GetFileName(f) == LlamaConfig.FileName);
        foreach (var file in files) CheckpointFolder.Publish(file, Path.Combine(target, Path.GetFileName(file)));
    }

    [Fact]
    public async Task ANewVersionWrittenIntoTheDirectoryIsLoadedAndServed()
    {
        // Arrange
        AssertServes(first, await AskAsync());

        // Act
        WriteInPlace(models.Original(HuggingFaceSwapTests.Second), Served);
        var info = await CheckpointFolder.DescribeUntilAsync(server, Hf, t => t.Version != first.Version);

        // Assert
        Assert.Equal((second.Version, ""), (info.Version, info.LastLoadError));
        AssertServes(second, await AskAsync());
    }

    [Fact]
    public async Task ADirectoryRenamedIntoPlaceIsLoaded()
    {
        // Arrange: the new version written beside it under a hidden name, which is never looked at.
        var staging = Path.Combine(Watched, ".hf-incoming");
        models.Copy(HuggingFaceSwapTests.Second, staging);

        // Act: the old directory moved aside (hidden too), the new one renamed into place.
        Directory.Move(Served, Path.Combine(Watched, ".hf-old"));
        Directory.Move(staging, Served);
        var info = await CheckpointFolder.DescribeUntilAsync(server, Hf, t => t.Version != first.Version);

        // Assert
        Assert.Equal((second.Version, ""), (info.Version, info.LastLoadError));
        AssertServes(second, await AskAsync());
    }

    [Fact]
    public async Task ADirectoryFilledWithoutItsConfigIsNotLoadedUntilTheConfigArrives()
    {
        // Arrange: a new directory for the teacher, its weights and tokenizer written but config.json not yet.
        Directory.Move(Served, Path.Combine(Watched, ".hf-old"));
        Directory.CreateDirectory(Served);
        var source = models.Original(HuggingFaceSwapTests.Second);
        foreach (var file in Directory.GetFiles(source).Where(f => Path.GetFileName(f) != LlamaConfig.FileName))
            CheckpointFolder.Publish(file, Path.Combine(Served, Path.GetFileName(file)));

        // Act: the other teacher swapped after it, so the half-written directory has surely been looked at.
        WriteInPlace(source, Path.Combine(Watched, Other));
        await CheckpointFolder.DescribeUntilAsync(server, Other, t => t.Version == second.Version);
        var waiting = (await server.Client.DescribeAsync(new DescribeRequest { Teacher = Hf })).Teachers.Single();
        CheckpointFolder.Publish(Path.Combine(source, LlamaConfig.FileName), Path.Combine(Served, LlamaConfig.FileName));
        var info = await CheckpointFolder.DescribeUntilAsync(server, Hf, t => t.Version != first.Version);

        // Assert: no failed attempt on the half-written directory, then the whole one.
        Assert.Equal((first.Version, ""), (waiting.Version, waiting.LastLoadError));
        Assert.Equal((second.Version, ""), (info.Version, info.LastLoadError));
    }

    [Fact]
    public async Task ABrokenDirectoryLeavesTheOldVersionServingAndDescribeSaysWhy()
    {
        // Arrange: the second version with a tensor missing from its weights.
        var broken = Path.Combine(Watched, ".hf-broken");
        models.Copy(HuggingFaceSwapTests.Second, broken);
        SafetensorsBytes.Edit(Path.Combine(broken, HuggingFaceCheckpoint.WeightsFile), f => f.Tensors.Remove(f["model.layers.0.self_attn.q_norm.weight"]));

        // Act
        WriteInPlace(broken, Served);
        var info = await CheckpointFolder.DescribeUntilAsync(server, Hf, t => t.LastLoadError != "");

        // Assert
        Assert.Equal(first.Version, info.Version);
        Assert.Contains("model.layers.0.self_attn.q_norm.weight", info.LastLoadError);
        Assert.Contains(Path.Combine(Path.GetFileName(Served), HuggingFaceCheckpoint.WeightsFile), info.LastLoadError);
        Assert.DoesNotContain(Path.GetDirectoryName(Served)!, info.LastLoadError); // an open service's callers hold no admin key
        AssertServes(first, await AskAsync());
    }

    [Fact]
    public async Task ADirectoryForATeacherTheServiceDoesNotHoldIsIgnored()
    {
        // Arrange: a model directory for an unknown name, then a real swap, so that the folder has surely been looked at.
        models.Copy(HuggingFaceSwapTests.Second, Path.Combine(Watched, "stranger"));
        WriteInPlace(models.Original(HuggingFaceSwapTests.Second), Served);

        // Act
        await CheckpointFolder.DescribeUntilAsync(server, Hf, t => t.Version == second.Version);
        var all = await server.Client.DescribeAsync(new DescribeRequest());

        // Assert
        Assert.Equal([Hf, Other], all.Teachers.Select(t => t.Name));
    }
}
