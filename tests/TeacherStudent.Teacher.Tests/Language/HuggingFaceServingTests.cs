using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Teacher.Generation;
using TeacherStudent.Teacher.Telemetry;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests.Language;

/// <summary>
/// What the service does for a language model, done for a Hugging Face teacher (a tiny Llama with grouped-query
/// attention and a padded vocabulary, loaded from its directory): dense, top-k and sampled targets are those of
/// the same directory loaded in this process, a repeat comes from the cache, and Generate writes what the model
/// writes in process, encodes special tokens written in a prompt as Hugging Face does, and stops at the ids
/// generation_config.json names.
/// </summary>
public sealed class HuggingFaceServingTests(TinyModels models) : IClassFixture<TinyModels>, IAsyncLifetime
{
    private const string Hf = "hf";
    private static readonly TinyModelOptions Model = new() { Family = "llama", KvHeads = 2, PaddedVocab = 12, Seed = 5 };

    private readonly TemporaryDirectory directory = new("hf-serving-tests");
    private TeacherServer server = null!;
    private LanguageModel reference = null!;

    public async Task InitializeAsync()
    {
        var model = models.Original(Model);
        reference = HuggingFaceCheckpoint.Load(model, CPU);
        server = await Serve(model);
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        reference.Dispose();
        directory.Dispose();
    }

    private static Task<TeacherServer> Serve(string model) => TeacherServer.StartAsync(new Dictionary<string, string>
    {
        ["Teacher:Name"] = Hf,
        ["Teacher:Checkpoint"] = model,
        ["Teacher:Device"] = "cpu",
        ["Generation:DefaultMaxNewTokens"] = "12",
        ["Generation:MaxDelayMs"] = "1",
    });

    private TeacherMetrics Metrics => server.Services.GetRequiredService<TeacherMetrics>();

    // Sequences of real text, each running over the end-of-sequence id that separates the texts.
    private int[] Sequences(int count, int length)
    {
        string[] texts =
        [
            "The teacher reads the question and writes the answer.", "Hello world, hello there, hello again!",
            "Numbers such as 12, 345 and 6789 are split into digits.", "<|im_start|>user\nCall me Ishmael.<|im_end|>",
            "The quick brown fox jumps over the lazy dog.", "Pack my box with five dozen liquor jugs.",
        ];
        var stream = reference.EncodeEntries(Enumerable.Repeat(texts, 8).SelectMany(t => t));
        return stream.AsSpan(0, count * length).ToArray();
    }

    private SoftTargetsRequest Request(int[] tokens, int count, int length, int k = 0, SparseKind kind = SparseKind.TopK, long seed = 17) => new()
    {
        RequestId = "r",
        Teacher = Hf,
        Temperature = 2f,
        OutputDtype = DType.Float32,
        K = k,
        SparseKind = kind,
        Seed = seed,
        TokenizerDigest = reference.Tokenizer.Digest,
        Inputs = new Contracts.V1.Tensor
        {
            Shape = { count, length },
            Dtype = DType.Int32,
            Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(tokens.AsSpan())),
        },
    };

    private static float[] Floats(Contracts.V1.Tensor tensor) => MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();

    private static int[] Ids(Contracts.V1.Tensor tensor) => tensor.Dtype == DType.Uint16
        ? MemoryMarshal.Cast<byte, ushort>(tensor.Data.Span).ToArray().Select(i => (int)i).ToArray()
        : MemoryMarshal.Cast<byte, int>(tensor.Data.Span).ToArray();

    [Fact]
    public async Task DenseTargetsAreTheInProcessOnesOverTheTokenizersVocabulary()
    {
        // Arrange
        var tokens = Sequences(3, 16);
        await using var stream = server.OpenStream();

        // Act
        var reply = await stream.AskAsync(Request(tokens, 3, 16));

        // Assert: 300 tokens, not the 312 rows of the padded embedding.
        Assert.Equal(new long[] { 3, 16, 300 }, reply.LogProbs.Shape);
        var expected = SequenceTargets.Compute(reference, tokens, 3, 16, new SequenceTargetSettings(2f));
        TestImages.AssertClose(expected.LogProbs, Floats(reply.LogProbs), 1e-5);
        Assert.Equal(reference.Version, reply.TeacherVersion);
    }

    [Fact]
    public async Task TopKTargetsAreTheInProcessOnesWithTheirTailMass()
    {
        // Arrange
        var tokens = Sequences(2, 20);
        await using var stream = server.OpenStream();

        // Act
        var reply = await stream.AskAsync(Request(tokens, 2, 20, k: 8));

        // Assert
        var sparse = reply.SparseLogProbs;
        Assert.Equal(SparseKind.TopK, sparse.Kind);
        Assert.Equal(new long[] { 2, 20, 8 }, sparse.Ids.Shape);
        var expected = SequenceTargets.Compute(reference, tokens, 2, 20, new SequenceTargetSettings(2f, 8));
        Assert.Equal(expected.Ids, Ids(sparse.Ids));
        TestImages.AssertClose(expected.LogProbs, Floats(sparse.LogProbs), 1e-5);
        TestImages.AssertClose(expected.TailLogMass!, Floats(sparse.TailLogMass), 1e-5);
    }

    [Fact]
    public async Task SampledTargetsAreTheInProcessDrawsAndARepeatComesFromTheCache()
    {
        // Arrange
        var tokens = Sequences(4, 12);
        await using var stream = server.OpenStream();
        long hits = Metrics.CacheHits;

        // Act
        var first = await stream.AskAsync(Request(tokens, 4, 12, k: 16, kind: SparseKind.Sampled, seed: 23));
        var again = await stream.AskAsync(Request(tokens, 4, 12, k: 16, kind: SparseKind.Sampled, seed: 23));
        var reseeded = await stream.AskAsync(Request(tokens, 4, 12, k: 16, kind: SparseKind.Sampled, seed: 24));

        // Assert
        var expected = SequenceTargets.Compute(reference, tokens, 4, 12, new SequenceTargetSettings(2f, 16, SparseTargetKind.Sampled, 23));
        Assert.Equal(SparseKind.Sampled, first.SparseLogProbs.Kind);
        Assert.Equal(expected.Ids, Ids(first.SparseLogProbs.Ids));
        TestImages.AssertClose(expected.LogProbs, Floats(first.SparseLogProbs.LogProbs), 1e-5);
        Assert.Equal((0, 4, 0), (first.CacheHits, again.CacheHits, reseeded.CacheHits));
        Assert.Equal(hits + 4, Metrics.CacheHits);
        Assert.Equal(first.SparseLogProbs, again.SparseLogProbs);
        Assert.NotEqual(Ids(first.SparseLogProbs.Ids), Ids(reseeded.SparseLogProbs.Ids));
    }

    [Fact]
    public async Task AStudentWithAnotherTokenizersDigestIsRefusedAndTheStreamGoesOn()
    {
        // Arrange: the digest of a real other tokenizer (320 ids), and of this one saved again with other bytes.
        using var other = HuggingFaceCheckpoint.Load(models.Original(new TinyModelOptions { Family = "llama", Vocab = 320 }), CPU);
        var tokens = Sequences(2, 8);
        await using var stream = server.OpenStream();
        var foreign = Request(tokens, 2, 8);
        foreign.TokenizerDigest = other.Tokenizer.Digest;

        // Act
        var refused = await stream.AskAsync(foreign);
        var answered = await stream.AskAsync(Request(tokens, 2, 8, k: 4));

        // Assert
        Assert.NotEqual(reference.Tokenizer.Digest, other.Tokenizer.Digest);
        Assert.Equal((int)StatusCode.FailedPrecondition, refused.Error.Code);
        Assert.Contains(other.Tokenizer.Digest, refused.Error.Message);
        Assert.Contains(reference.Tokenizer.Digest, refused.Error.Message);
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.SparseLogProbs, answered.ResultCase);
    }

    private static GenerateRequest Generation(string prompt, int n = 1, long seed = 5, float temperature = 1, int maxNewTokens = 0) =>
        new() { Teacher = Hf, Prompts = { prompt }, N = n, Seed = seed, Temperature = temperature, MaxNewTokens = maxNewTokens };

    // What the same directory writes in this process for one sample, from the prompt's ids.
    private GenerationResult InProcess(LanguageModel model, int[] prompt, string text, int sampleIndex, long seed, double temperature, int maxNewTokens) =>
        BatchGenerator.Generate(model, [new GenerationRow(prompt, temperature, 1, maxNewTokens, LocalTextGenerator.SeedOf(seed, sampleIndex, text))])[0];

    [Fact]
    public async Task GenerateWritesWhatTheDirectoryWritesInProcessAndTheSameAgainForTheSameSeed()
    {
        // Arrange
        const string prompt = "The teacher reads";

        // Act
        var samples = await server.GenerateAsync(Generation(prompt, n: 3, seed: 41));
        var again = await server.GenerateAsync(Generation(prompt, n: 3, seed: 41));

        // Assert
        Assert.Equal(3, samples.Count);
        foreach (var (sample, version) in samples)
        {
            var expected = InProcess(reference, reference.Tokenizer.Encode(prompt), prompt, sample.SampleIndex, 41, 1, 12);
            Assert.Equal(reference.Tokenizer.Decode(expected.Tokens), sample.Text);
            Assert.Equal((expected.PromptTokens, expected.CompletionTokens), (sample.PromptTokens, sample.CompletionTokens));
            Assert.Equal(reference.Version, version);
        }
        Assert.Equal(3, samples.Select(s => s.Sample.Text).Distinct().Count());
        Assert.Equal(samples.OrderBy(s => s.Sample.SampleIndex).Select(s => s.Sample.Text), again.OrderBy(s => s.Sample.SampleIndex).Select(s => s.Sample.Text));
    }

    [Fact]
    public async Task SpecialTokensWrittenInAPromptAreReadAsTheirIds()
    {
        // Arrange: the chat markers of the tiny tokenizer are its added tokens 298 and 299.
        const string prompt = "<|im_start|>user\nHello world<|im_end|>";
        var ids = reference.Tokenizer.Encode(prompt);

        // Act
        var sample = (await server.GenerateAsync(Generation(prompt, temperature: 0))).Single().Sample;

        // Assert: the markers are one id each, the text between them tokenized on its own, as Hugging Face does.
        Assert.Equal([298, .. reference.Tokenizer.Encode("user\nHello world"), 299], ids);
        Assert.Equal(ids.Length, sample.PromptTokens);
        var expected = InProcess(reference, ids, prompt, 0, 5, 0, 12);
        Assert.Equal(reference.Tokenizer.Decode(expected.Tokens), sample.Text);
    }

    [Fact]
    public async Task AnEmptyPromptIsContinuedFromTheBeginningOfSequenceToken()
    {
        // Arrange: this tokenizer adds nothing around a text, so "" has no ids; transformers then starts from bos.
        Assert.Empty(reference.Tokenizer.Encode(""));

        // Act
        var sample = (await server.GenerateAsync(Generation("", temperature: 0))).Single().Sample;

        // Assert
        var expected = InProcess(reference, [297], "", 0, 5, 0, 12);
        Assert.Equal(reference.Tokenizer.Decode(expected.Tokens), sample.Text);
        Assert.Equal(1, sample.PromptTokens);
    }

    [Fact]
    public async Task AnEmptyPromptToAModelWithoutABeginningOfSequenceTokenIsRefused()
    {
        // Arrange: a copy whose files name no bos (as Qwen's tokenizer_config.json does not).
        var copy = models.Copy(Model, directory.File("no-bos"));
        foreach (var (file, key) in new[] { ("tokenizer_config.json", "bos_token"), ("generation_config.json", "bos_token_id"), ("config.json", "bos_token_id") })
        {
            var path = Path.Combine(copy, file);
            var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            json.Remove(key);
            File.WriteAllText(path, json.ToJsonString());
        }
        await using var noBos = await Serve(copy);

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(() => noBos.GenerateAsync(new GenerateRequest { Teacher = Hf, Prompts = { "Hello", "" } }));

        // Assert
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("prompt 1 is empty", error.Status.Detail);
    }

    [Fact]
    public async Task GenerationStopsAtAnyEndOfSequenceIdThatGenerationConfigNames()
    {
        // Arrange: the fourth token the model writes greedily, new in its text, is made an end-of-sequence id (second
        // in generation_config's list, after the 299 the config names), in a copy of the directory.
        const string prompt = "Hello world, hello";
        var free = InProcess(reference, reference.Tokenizer.Encode(prompt), prompt, 0, 5, 0, 12);
        Assert.Equal(GenerationEnd.Length, free.End);
        int at = Enumerable.Range(3, free.Tokens.Length - 3).First(i => !free.Tokens[..i].Contains(free.Tokens[i]));
        int end = free.Tokens[at];
        var copy = models.Copy(Model, directory.File("eos"));
        var generationConfig = Path.Combine(copy, "generation_config.json");
        var json = JsonNode.Parse(File.ReadAllText(generationConfig))!.AsObject();
        json["eos_token_id"] = new JsonArray(299, end);
        File.WriteAllText(generationConfig, json.ToJsonString());
        await using var stopping = await Serve(copy);

        // Act
        var sample = (await stopping.GenerateAsync(Generation(prompt, temperature: 0))).Single().Sample;
        var info = (await stopping.Client.DescribeAsync(new DescribeRequest { Teacher = Hf })).Teachers.Single();

        // Assert: the text up to that token, which is counted as written but not shown.
        Assert.Equal(new[] { 299, end }, info.LanguageModel.EosTokenIds);
        Assert.Equal(reference.Tokenizer.Decode(free.Tokens[..at]), sample.Text);
        Assert.Equal((FinishReason.Stop, at + 1), (sample.FinishReason, sample.CompletionTokens));
        Assert.NotEqual(reference.Version, info.Version);
    }
}
