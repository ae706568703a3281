using System.Runtime.InteropServices;
using Google.Protobuf;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Teacher.Generation;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests.Language;

/// <summary>
/// Teacher:DType, the dtype a Hugging Face teacher computes in: float32 on a CPU unless configured otherwise; a
/// bfloat16 teacher serves what the same directory computes in bfloat16 in process, close to float32's, says so in
/// Describe, and never shares a cache entry with float32; a value outside the list stops start-up.
/// </summary>
public sealed class HuggingFaceComputeDTypeTests(TinyModels models, ITestOutputHelper output) : IClassFixture<TinyModels>, IDisposable
{
    // Stored in bfloat16, as most published checkpoints are, so that float32 and bfloat16 compute from the same values.
    private static readonly TinyModelOptions Model = new() { Family = "qwen2", Dtype = "bfloat16", PaddedVocab = 4, Seed = 11 };

    private readonly TemporaryDirectory directory = new("hf-dtype-tests");

    public void Dispose() => directory.Dispose();

    private static Dictionary<string, string> Teacher(string name, string checkpoint, string? dtype, int index = 0)
    {
        var settings = new Dictionary<string, string>
        {
            [$"Teachers:{index}:Name"] = name,
            [$"Teachers:{index}:Checkpoint"] = checkpoint,
            [$"Teachers:{index}:Device"] = "cpu",
        };
        if (dtype is not null) settings[$"Teachers:{index}:DType"] = dtype;
        return settings;
    }

    private static int[] Tokens(LanguageModel model) =>
        model.EncodeEntries(["The teacher reads the question and writes the answer.", "Hello world, hello there, hello again!"]).AsSpan(0, 2 * 12).ToArray();

    private static SoftTargetsRequest Dense(string teacher, int[] tokens) => new()
    {
        RequestId = teacher,
        Teacher = teacher,
        Temperature = 1f,
        OutputDtype = DType.Float32,
        Inputs = new Contracts.V1.Tensor { Shape = { 2, 12 }, Dtype = DType.Int32, Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(tokens.AsSpan())) },
    };

    private static float[] Floats(SoftTargetsResponse reply)
    {
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.LogProbs, reply.ResultCase);
        return MemoryMarshal.Cast<byte, float>(reply.LogProbs.Data.Span).ToArray();
    }

    [Theory]
    [InlineData("bfloat16")]
    [InlineData("float16")]
    public async Task ALowPrecisionTeacherServesItsOwnComputationCloseToFloat32sAndDescribeSaysSo(string dtype)
    {
        // Arrange: one directory, served as two teachers: left to the default, and in the dtype asked.
        var model = models.Original(Model);
        using var float32 = HuggingFaceCheckpoint.Load(model, CPU);
        using var lower = HuggingFaceCheckpoint.Load(model, CPU, dtype == "float16" ? ScalarType.Float16 : ScalarType.BFloat16);
        var settings = Teacher("auto", model, null).Concat(Teacher("low", model, dtype, index: 1)).ToDictionary();
        await using var server = await TeacherServer.StartAsync(settings);
        var tokens = Tokens(float32);

        // Act
        await using var stream = server.OpenStream();
        var auto = Floats(await stream.AskAsync(Dense("auto", tokens)));
        var low = Floats(await stream.AskAsync(Dense("low", tokens)));
        var described = (await server.Client.DescribeAsync(new DescribeRequest())).Teachers.ToDictionary(t => t.Name, t => t.LanguageModel);

        // Assert
        Assert.Equal(("bfloat16", "float32"), (described["auto"].WeightDtype, described["auto"].ComputeDtype));
        Assert.Equal(("bfloat16", dtype), (described["low"].WeightDtype, described["low"].ComputeDtype));
        var settingsT1 = new SequenceTargetSettings(1f);
        TestImages.AssertClose(SequenceTargets.Compute(float32, tokens, 2, 12, settingsT1).LogProbs, auto, 1e-5);
        TestImages.AssertClose(SequenceTargets.Compute(lower, tokens, 2, 12, settingsT1).LogProbs, low, 1e-5);
        var difference = auto.Zip(low, (a, b) => Math.Abs(a - b)).Max();
        var mean = auto.Zip(low, (a, b) => Math.Abs(a - b)).Average();
        output.WriteLine($"max |{dtype} - float32| = {difference:E2}, mean {mean:E2}, over log-probs down to {auto.Min():F1}");
        // bfloat16 keeps 8 bits of mantissa (float16 11): a logit near 10 is rounded by up to 0.03 at the head alone,
        // and every product before it is off by up to 2^-9 relatively; through two layers these move the log-probs by
        // 2e-2 on average and 0.16 at most in bfloat16, 2.2e-2 at most in float16 (measured). A wrong forward moves
        // them by whole units; no difference at all would mean the teacher did not compute in the dtype asked.
        Assert.True(difference < 0.5, $"{dtype} and float32 log-probs differ by up to {difference}");
        Assert.True(mean < 0.05, $"{dtype} and float32 log-probs differ by {mean} on average");
        Assert.True(difference > 1e-4, $"{dtype} and float32 log-probs differ by only {difference}: the teacher did not compute in {dtype}");
    }

    [Fact]
    public async Task ABfloat16TeacherGeneratesWhatTheDirectoryWritesInBfloat16()
    {
        // Arrange
        var model = models.Original(Model);
        using var bfloat16 = HuggingFaceCheckpoint.Load(model, CPU, ScalarType.BFloat16);
        await using var server = await TeacherServer.StartAsync(Teacher("bf16", model, "bfloat16"));
        const string prompt = "The quick brown fox";

        // Act
        var sample = (await server.GenerateAsync(new GenerateRequest { Teacher = "bf16", Prompts = { prompt }, Temperature = 0, MaxNewTokens = 10 })).Single().Sample;

        // Assert
        var row = new GenerationRow(bfloat16.Tokenizer.Encode(prompt), 0, 1, 10, LocalTextGenerator.SeedOf(0, 0, prompt));
        var expected = BatchGenerator.Generate(bfloat16, [row])[0];
        Assert.Equal(bfloat16.Tokenizer.Decode(expected.Tokens), sample.Text);
        Assert.Equal(expected.CompletionTokens, sample.CompletionTokens);
    }

    [Fact]
    public async Task TheSameTeacherRestartedInAnotherDTypeReadsNoCacheEntryOfTheFirst()
    {
        // Arrange: one Redis kept across two runs of the same teacher, first in float32, then in bfloat16.
        using var redis = RedisServer.StartNew();
        var model = models.Original(Model);
        using var bfloat16 = HuggingFaceCheckpoint.Load(model, CPU, ScalarType.BFloat16);
        var tokens = Tokens(bfloat16);
        Dictionary<string, string> Run(string dtype) => new(Teacher("hf", model, dtype)) { ["Cache:Redis"] = redis.ConnectionString, ["Cache:KeyPrefix"] = "ts:dtype-tests:" };
        await using (var first = await TeacherServer.StartAsync(Run("float32")))
        {
            await using var stream = first.OpenStream();
            await stream.AskAsync(Dense("hf", tokens));
            Assert.Equal(2, (await stream.AskAsync(Dense("hf", tokens))).CacheHits);
        }

        // Act
        await using var second = await TeacherServer.StartAsync(Run("bfloat16"));
        await using var again = second.OpenStream();
        var reply = await again.AskAsync(Dense("hf", tokens));
        var repeat = await again.AskAsync(Dense("hf", tokens));
        var generated = await second.GenerateAsync(new GenerateRequest { Teacher = "hf", Prompts = { "Hello" }, MaxNewTokens = 4 });

        // Assert: the same version, but the bfloat16 answer computed afresh, then cached for bfloat16.
        Assert.Equal(bfloat16.Version, reply.TeacherVersion);
        Assert.Equal((0, 2), (reply.CacheHits, repeat.CacheHits));
        TestImages.AssertClose(SequenceTargets.Compute(bfloat16, tokens, 2, 12, new SequenceTargetSettings(1f)).LogProbs, Floats(reply), 1e-5);
        Assert.False(generated.Single().Sample.Cached);
    }

    [Fact]
    public async Task ANewTeacherLoadedThroughTheAdminRpcComputesInTheDTypeItAsksForAndAKnownOneKeepsItsOwn()
    {
        // Arrange: a service with one classifier; the Hugging Face directory arrives through LoadCheckpoint.
        var model = models.Original(Model);
        using var bfloat16 = HuggingFaceCheckpoint.Load(model, CPU, ScalarType.BFloat16);
        var checkpoint = TeacherCheckpoints.Create(directory.File("fashion.ckpt"), seed: 4);
        await using var server = await TeacherServer.StartAsync(new Dictionary<string, string>(ApiKeys.Settings)
        {
            ["Teacher:Name"] = "fashion",
            ["Teacher:Checkpoint"] = checkpoint,
            ["Teacher:Device"] = "cpu",
            ["Registry:AllowedDirectories:0"] = Path.GetDirectoryName(model)!,
        });
        Task<LoadCheckpointResponse> Load(string dtype) => server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "hf", CheckpointPath = model, Device = "cpu", Dtype = dtype }, ApiKeys.Header(ApiKeys.Admin)).ResponseAsync;
        async Task<LanguageModelInfo> Described() =>
            (await server.Client.DescribeAsync(new DescribeRequest { Teacher = "hf" }, ApiKeys.Header(ApiKeys.Caller))).Teachers.Single().LanguageModel;
        var tokens = Tokens(bfloat16);

        // Act
        await Load("bfloat16");
        var first = await Described();
        await using var stream = server.OpenStream(ApiKeys.Header(ApiKeys.Caller));
        var reply = Floats(await stream.AskAsync(Dense("hf", tokens)));
        await Load("float32"); // the same directory again, now a known teacher: the field is ignored
        var second = await Described();

        // Assert
        Assert.Equal(("bfloat16", "bfloat16"), (first.WeightDtype, first.ComputeDtype));
        TestImages.AssertClose(SequenceTargets.Compute(bfloat16, tokens, 2, 12, new SequenceTargetSettings(1f)).LogProbs, reply, 1e-5);
        Assert.Equal("bfloat16", second.ComputeDtype);
    }

    [Theory]
    [InlineData("float64", Grpc.Core.StatusCode.InvalidArgument, "auto, float32, bfloat16, float16")]
    [InlineData("bfloat16", Grpc.Core.StatusCode.FailedPrecondition, "float32")]
    public async Task TheAdminRpcRefusesADTypeOutsideTheListAndALowPrecisionClassifier(string dtype, Grpc.Core.StatusCode code, string named)
    {
        // Arrange: a new classifier teacher asked for through LoadCheckpoint.
        var checkpoint = TeacherCheckpoints.Create(directory.File("fashion.ckpt"), seed: 4);
        await using var server = await TeacherServer.StartAsync(new Dictionary<string, string>(ApiKeys.Settings)
        {
            ["Teacher:Name"] = "fashion",
            ["Teacher:Checkpoint"] = checkpoint,
            ["Teacher:Device"] = "cpu",
        });

        // Act
        var error = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "other", CheckpointPath = checkpoint, Device = "cpu", Dtype = dtype }, ApiKeys.Header(ApiKeys.Admin)).ResponseAsync);

        // Assert: refused with the reason, and the service serves on.
        Assert.Equal(code, error.StatusCode);
        Assert.Contains(named, error.Status.Detail);
        var teachers = (await server.Client.DescribeAsync(new DescribeRequest(), ApiKeys.Header(ApiKeys.Caller))).Teachers;
        Assert.Equal(["fashion"], teachers.Select(t => t.Name));
    }

    [Theory]
    [InlineData("float64")]
    [InlineData("BF16")]
    [InlineData("")]
    public void ADTypeOutsideTheListStopsStartUpNamingTheAllowedValues(string dtype)
    {
        // Arrange
        var model = models.Original(Model);

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build([$"--Teacher:Checkpoint={model}", $"--Teacher:DType={dtype}"]));

        // Assert
        Assert.Contains("DType", error.Message);
        Assert.Contains("auto, float32, bfloat16, float16", error.Message);
    }

    [Fact]
    public void ABfloat16DTypeForOneOfTheProjectsOwnCheckpointsStopsStartUp()
    {
        // Arrange
        var checkpoint = TeacherCheckpoints.Create(directory.File("fashion.ckpt"), seed: 4);

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build([$"--Teacher:Checkpoint={checkpoint}", "--Teacher:DType=bfloat16"]));

        // Assert
        Assert.Contains(checkpoint, error.Message);
        Assert.Contains("float32", error.Message);
    }
}
