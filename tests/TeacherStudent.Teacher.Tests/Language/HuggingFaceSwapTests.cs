using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests.Language;

/// <summary>
/// New versions of a Hugging Face teacher through TeacherAdmin.LoadCheckpoint: another directory with the same
/// tokenizer swaps in and open streams get its answers; a broken directory, or one whose tokenizer means other
/// text, is refused with the reason while the old version serves on; the same tokenizer saved with other bytes is
/// the same tokenizer.
/// </summary>
public sealed class HuggingFaceSwapTests(TinyModels models) : IClassFixture<TinyModels>, IAsyncLifetime
{
    private const string Hf = "hf";
    internal static readonly TinyModelOptions First = new() { Family = "qwen3", Tied = true, Seed = 7 };
    internal static readonly TinyModelOptions Second = First with { Seed = 8 };

    private readonly TemporaryDirectory directory = new("hf-swap-tests");
    private TeacherServer server = null!;
    private LanguageModel first = null!, second = null!;

    public async Task InitializeAsync()
    {
        first = HuggingFaceCheckpoint.Load(models.Original(First), CPU);
        second = HuggingFaceCheckpoint.Load(models.Original(Second), CPU);
        server = await TeacherServer.StartAsync(new Dictionary<string, string>(ApiKeys.Settings)
        {
            ["Teacher:Name"] = Hf,
            ["Teacher:Checkpoint"] = models.Copy(First, directory.File("first")),
            ["Teacher:Device"] = "cpu",
        });
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        first.Dispose();
        second.Dispose();
        directory.Dispose();
    }

    private Task<LoadCheckpointResponse> LoadAsync(string path) =>
        server.Admin.LoadCheckpointAsync(new LoadCheckpointRequest { Teacher = Hf, CheckpointPath = path }, ApiKeys.Header(ApiKeys.Admin)).ResponseAsync;

    private async Task<TeacherInfo> DescribeAsync(string key = ApiKeys.Caller) =>
        (await server.Client.DescribeAsync(new DescribeRequest { Teacher = Hf }, ApiKeys.Header(key))).Teachers.Single();

    private int[] Tokens => first.EncodeEntries(["The teacher reads the question.", "Hello world, hello there!"]).AsSpan(0, 2 * 10).ToArray();

    internal static SoftTargetsRequest Dense(int[] tokens, int count, int length) => new()
    {
        RequestId = "r",
        Teacher = Hf,
        Temperature = 2f,
        OutputDtype = DType.Float32,
        Inputs = new Contracts.V1.Tensor { Shape = { count, length }, Dtype = DType.Int32, Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(tokens.AsSpan())) },
    };

    private static float[] Expected(LanguageModel model, int[] tokens) => SequenceTargets.Compute(model, tokens, 2, 10, new SequenceTargetSettings(2f)).LogProbs;

    private static float[] Floats(SoftTargetsResponse reply)
    {
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.LogProbs, reply.ResultCase);
        return MemoryMarshal.Cast<byte, float>(reply.LogProbs.Data.Span).ToArray();
    }

    [Fact]
    public async Task AnotherDirectoryWithTheSameTokenizerIsANewVersionAndAnOpenStreamGetsItsAnswers()
    {
        // Arrange: a stream open and answered by the first version.
        await using var stream = server.OpenStream(ApiKeys.Header(ApiKeys.Caller));
        var before = await stream.AskAsync(Dense(Tokens, 2, 10));

        // Act
        var loaded = await LoadAsync(models.Copy(Second, directory.File("second")));
        var after = await stream.AskAsync(Dense(Tokens, 2, 10));

        // Assert
        Assert.Equal((second.Version, first.Version), (loaded.Version, loaded.PreviousVersion));
        Assert.Equal((first.Version, second.Version), (before.TeacherVersion, after.TeacherVersion));
        Assert.Equal(0, after.CacheHits);
        TestImages.AssertClose(Expected(first, Tokens), Floats(before), 1e-5);
        TestImages.AssertClose(Expected(second, Tokens), Floats(after), 1e-5);
        Assert.NotEqual(Expected(first, Tokens), Expected(second, Tokens));
    }

    public static TheoryData<string, string> Broken => new()
    {
        { "a missing tensor", "model.layers.1.mlp.up_proj.weight" },
        { "a tensor of an unknown dtype", "I64" },
        { "a missing shard", "model-00002-of-00002.safetensors" },
        { "an unsupported architecture", "GPTNeoXForCausalLM" },
        { "no config.json", "without config.json" },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public async Task ABrokenDirectoryIsRefusedWithTheReasonAndTheOldVersionServesOn(string damage, string named)
    {
        // Arrange
        var broken = directory.File("broken");
        switch (damage)
        {
            case "a missing tensor":
                models.Copy(Second, broken);
                SafetensorsBytes.Edit(Path.Combine(broken, "model.safetensors"), f => f.Tensors.Remove(f[named]));
                break;
            case "a tensor of an unknown dtype":
                models.Copy(Second, broken);
                SafetensorsBytes.Edit(Path.Combine(broken, "model.safetensors"), f => f["model.norm.weight"].DType = named);
                break;
            case "a missing shard":
                models.Copy(Second with { Sharded = true }, broken);
                File.Delete(Path.Combine(broken, named));
                break;
            case "an unsupported architecture":
                models.Copy(Second, broken);
                var config = Path.Combine(broken, "config.json");
                var json = JsonNode.Parse(File.ReadAllText(config))!.AsObject();
                json["architectures"] = new JsonArray(named);
                File.WriteAllText(config, json.ToJsonString());
                break;
            case "no config.json":
                models.Copy(Second, broken);
                File.Delete(Path.Combine(broken, "config.json"));
                break;
        }

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(() => LoadAsync(broken));
        var info = await DescribeAsync();
        await using var stream = server.OpenStream(ApiKeys.Header(ApiKeys.Caller));
        var reply = await stream.AskAsync(Dense(Tokens, 2, 10));

        // Assert
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains(named, error.Status.Detail);
        Assert.Contains(broken, error.Status.Detail);
        Assert.Contains("goes on serving", error.Status.Detail);
        Assert.Equal(first.Version, info.Version);
        Assert.Equal(error.Status.Detail, (await DescribeAsync(ApiKeys.Admin)).LastLoadError);
        Assert.Contains(named, info.LastLoadError); // a caller without the admin key: the reason, and no path of the service's disk
        Assert.DoesNotContain(directory.Path, info.LastLoadError);
        Assert.Equal(first.Version, reply.TeacherVersion);
        TestImages.AssertClose(Expected(first, Tokens), Floats(reply), 1e-5);
    }

    [Fact]
    public async Task ADirectoryWhoseTokenizerMeansOtherTextIsRefused()
    {
        // Arrange: the second model with two tokens' ids swapped: as many ids, the same merges, other text per id.
        var other = models.Copy(Second, directory.File("other-tokenizer"));
        var path = Path.Combine(other, "tokenizer.json");
        var tokenizer = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var vocab = tokenizer["model"]!["vocab"]!.AsObject();
        var (a, b) = (vocab.First(p => (int)p.Value! == 100).Key, vocab.First(p => (int)p.Value! == 101).Key);
        (vocab[a], vocab[b]) = (101, 100);
        File.WriteAllText(path, tokenizer.ToJsonString());

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(() => LoadAsync(other));
        var info = await DescribeAsync();

        // Assert
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("tokenizer", error.Status.Detail);
        Assert.Contains(first.Tokenizer.Digest, error.Status.Detail);
        Assert.Equal((first.Version, 300), (info.Version, info.LanguageModel.VocabularySize));
    }

    [Fact]
    public async Task TheSameTokenizerSavedWithOtherBytesIsTheSameTokenizer()
    {
        // Arrange: tokenizer.json written again without indentation, as another tool might save it.
        var resaved = models.Copy(Second, directory.File("resaved"));
        var path = Path.Combine(resaved, "tokenizer.json");
        File.WriteAllText(path, JsonNode.Parse(File.ReadAllText(path))!.ToJsonString());

        // Act
        var loaded = await LoadAsync(resaved);
        var info = await DescribeAsync();

        // Assert: loaded (the bytes make another version than the second model's), with the first's tokenizer digest.
        Assert.Equal(first.Version, loaded.PreviousVersion);
        Assert.NotEqual(second.Version, loaded.Version);
        Assert.Equal((loaded.Version, first.Tokenizer.Digest), (info.Version, info.LanguageModel.TokenizerDigest));
    }
}
