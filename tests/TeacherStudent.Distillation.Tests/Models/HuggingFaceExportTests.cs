using System.Text.Json.Nodes;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Testing;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Models;

/// <summary>
/// <see cref="HuggingFaceCheckpoint.Save"/>: a loaded model written back as a Hugging Face directory holds the files
/// transformers reads (compared with what the independent reference writes), loads back with the same weights, and
/// the reference computes the C# model's log-probabilities from the written files: the export loads in the reference.
/// </summary>
public sealed class HuggingFaceExportTests(TinyModels models, ITestOutputHelper output) : IClassFixture<TinyModels>, IDisposable
{
    private const double ReferenceTolerance = 1e-4;

    // Two rows of 12 ids below every tiny tokenizer's 300, special tokens (297-299) among them.
    private static readonly int[][] Rows = [[297, 5, 141, 59, 26, 53, 58, 97, 93, 238, 299, 12], [62, 64, 298, 33, 83, 279, 50, 28, 84, 19, 1, 250]];

    private readonly TemporaryDirectory temporary = new();

    public void Dispose() => temporary.Dispose();

    public static TheoryData<string, string> Exports
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var model in Sources.Keys)
                foreach (var dtype in new[] { "float32", "bfloat16" })
                    data.Add(model, dtype);
            return data;
        }
    }

    // Each exercises another part of the config: llama3 rope and every attention bias; Qwen3's head_dim and q/k
    // norms with a tied head; Qwen2's q/k/v biases and a padded vocabulary, read from bfloat16 shards.
    private static readonly Dictionary<string, TinyModelOptions> Sources = new()
    {
        ["llama, llama3 rope, biases, untied"] = new() { Family = "llama", RopeScaling = "llama3", AttentionBias = true, Seed = 1 },
        ["qwen3, head_dim 24, tied"] = new() { Family = "qwen3", HeadDim = 24, Tied = true, Seed = 2 },
        ["qwen2, padded vocabulary, from bfloat16 shards"] = new() { Family = "qwen2", PaddedVocab = 20, Dtype = "bfloat16", Sharded = true, Seed = 3 },
    };

    private static ScalarType DTypeOf(string name) => name == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32;

    private string Export(LanguageModel model, string source, string dtype)
    {
        var target = temporary.File($"export-{Guid.NewGuid():N}");
        HuggingFaceCheckpoint.Save(target, (Llama)model.Model, source, model.Special, DTypeOf(dtype));
        return target;
    }

    [Theory]
    [MemberData(nameof(Exports))]
    public void AnExportLoadsBackWithTheSameWeightsRoundedToItsDType(string source, string dtype)
    {
        // Arrange
        var original = models.Original(Sources[source]);
        using var model = HuggingFaceCheckpoint.Load(original, CPU);

        // Act
        using var exported = HuggingFaceCheckpoint.Load(Export(model, original, dtype), CPU);

        // Assert: every weight is the original's, rounded to the export's dtype and read back exactly.
        var before = model.Model.state_dict();
        var after = exported.Model.state_dict();
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (name, weight) in before)
        {
            using var rounded = weight.to(DTypeOf(dtype)).to(ScalarType.Float32);
            Assert.True(rounded.shape.SequenceEqual(after[name].shape) && rounded.allclose(after[name], rtol: 0, atol: 0), $"{name} did not come back as the original rounded to {dtype}");
        }
        Assert.Equal(dtype, exported.Facts.WeightDType);
        Assert.Equal((model.Special.BeginOfSequence, model.Special.Padding), (exported.Special.BeginOfSequence, exported.Special.Padding));
        Assert.Equal(model.Special.EndOfSequence, exported.Special.EndOfSequence);
        Assert.Equal(model.Tokenizer.Digest, exported.Tokenizer.Digest);
        var (beforeLogits, afterLogits) = (Logits(model), Logits(exported));
        var difference = beforeLogits.Zip(afterLogits, (a, b) => Math.Abs(a - b)).Max();
        var scale = beforeLogits.Max(Math.Abs);
        output.WriteLine($"{source} as {dtype}: max |logit difference| = {difference:E2} of logits up to {scale:F2}");
        // float32: the same weights, the same forward. bfloat16: weights up to 2^-9 off, relatively (checked exactly
        // above), which moves these two-layer models' logits by about 2% of their largest (measured 1.1e-1 of 5.9 and 6.9).
        Assert.True(difference <= (dtype == "float32" ? 1e-5 : 0.05 * scale), $"logits differ by {difference}");
    }

    [Theory]
    [MemberData(nameof(Exports))]
    public void TheReferenceComputesTheExportsLogProbsFromItsFiles(string source, string dtype)
    {
        // Arrange
        var original = models.Original(Sources[source]);
        using var model = HuggingFaceCheckpoint.Load(original, CPU);
        var target = Export(model, original, dtype);
        using var exported = HuggingFaceCheckpoint.Load(target, CPU);

        // Act
        var reference = HuggingFaceReference.LogProbs(target, Rows, temperature: 1.0, vocabulary: exported.VocabularySize);

        // Assert
        var served = LogProbs(exported);
        var difference = served.Zip(reference.SelectMany(r => r.SelectMany(p => p)), (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{source} as {dtype}: max |C# - reference| = {difference:E2}");
        Assert.True(difference <= ReferenceTolerance, $"the reference's log-probs of the export differ from the model's by {difference}");
    }

    [Theory]
    [InlineData("llama, llama3 rope, biases, untied", "float32")]
    [InlineData("qwen3, head_dim 24, tied", "bfloat16")]
    [InlineData("qwen2, padded vocabulary, from bfloat16 shards", "bfloat16")]
    public void TheExportHoldsTheFilesTransformersReads(string source, string dtype)
    {
        // Arrange
        var original = models.Original(Sources[source]);
        using var model = HuggingFaceCheckpoint.Load(original, CPU);

        // Act
        var target = Export(model, original, dtype);

        // Assert: config.json says what the reference's (written as transformers writes it) says, in the export's dtype.
        var written = Json(Path.Combine(target, "config.json"));
        var expected = Json(Path.Combine(original, "config.json"));
        string[] keys =
        [
            "architectures", "model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_scaling", "hidden_act",
            "tie_word_embeddings", "bos_token_id", "eos_token_id", "attention_bias", "head_dim", "sliding_window", "use_sliding_window",
        ];
        foreach (var key in keys.Where(expected.ContainsKey))
            Assert.True(SameJson(expected[key], written[key]), $"config.json's {key} is {written[key]?.ToJsonString()}, not {expected[key]?.ToJsonString()}");
        Assert.Equal(dtype, (string?)written["torch_dtype"]);

        // model.safetensors: transformers' {"format": "pt"}, the original's tensor names and shapes, all in the export's dtype.
        Assert.False(File.Exists(Path.Combine(target, HuggingFaceCheckpoint.IndexFile)));
        var tensors = SafetensorsBytes.Read(Path.Combine(target, HuggingFaceCheckpoint.WeightsFile));
        Assert.Equal("pt", (string?)tensors.Metadata?["format"]);
        var originalTensors = OriginalTensors(original);
        Assert.Equal(originalTensors.Keys.Order(), tensors.Tensors.Select(t => t.Name).Order());
        Assert.All(tensors.Tensors, t => Assert.Equal(originalTensors[t.Name], t.Shape));
        Assert.All(tensors.Tensors, t => Assert.Equal(dtype == "bfloat16" ? "BF16" : "F32", t.DType));

        // generation_config.json: the ids generation starts and stops with; the tokenizer's files copied byte for byte.
        var generation = Json(Path.Combine(target, "generation_config.json"));
        var originalGeneration = Json(Path.Combine(original, "generation_config.json"));
        Assert.True(SameJson(originalGeneration["bos_token_id"], generation["bos_token_id"]));
        Assert.True(SameJson(originalGeneration["eos_token_id"], generation["eos_token_id"]));
        Assert.Equal(297, (int?)generation["pad_token_id"]);
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(original, file)), File.ReadAllBytes(Path.Combine(target, file)));
        Assert.Empty(Directory.EnumerateFiles(target, "*.tmp").Concat(Directory.EnumerateFiles(target, ".*")));
    }

    [Fact]
    public void SavingIntoTheSameDirectoryAgainReplacesTheExport()
    {
        // Arrange: a student saved at the end of each epoch into one directory.
        var original = models.Original(Sources["qwen3, head_dim 24, tied"]);
        using var model = HuggingFaceCheckpoint.Load(original, CPU);
        var target = Export(model, original, "float32");
        var first = HuggingFaceCheckpoint.Load(target, CPU);
        var firstVersion = first.Version;
        first.Dispose();

        // Act
        HuggingFaceCheckpoint.Save(target, (Llama)model.Model, original, model.Special, ScalarType.BFloat16);
        using var second = HuggingFaceCheckpoint.Load(target, CPU);

        // Assert
        Assert.Equal("bfloat16", second.Facts.WeightDType);
        Assert.NotEqual(firstVersion, second.Version);
    }

    [Theory]
    [InlineData(new int[0], "null")]
    [InlineData(new[] { 299 }, "299")]
    [InlineData(new[] { 299, 298 }, "[299,298]")]
    public void GenerationConfigNamesTheEndOfSequenceIdsAsTransformersWritesThem(int[] ends, string written)
    {
        // Arrange
        var original = models.Original(Sources["qwen3, head_dim 24, tied"]);
        using var model = HuggingFaceCheckpoint.Load(original, CPU);
        var target = temporary.File($"export-{Guid.NewGuid():N}");

        // Act
        HuggingFaceCheckpoint.Save(target, (Llama)model.Model, original, model.Special with { EndOfSequence = ends });
        using var exported = HuggingFaceCheckpoint.Load(target, CPU);

        // Assert
        var generation = Json(Path.Combine(target, "generation_config.json"));
        Assert.Equal(written, generation["eos_token_id"]?.ToJsonString() ?? "null");
        if (ends.Length > 0) Assert.Equal(ends, exported.Special.EndOfSequence);
    }

    private static float[] Logits(LanguageModel model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = tensor(Rows.SelectMany(r => r).Select(t => (long)t).ToArray(), [Rows.Length, Rows[0].Length]);
        return model.Model.forward(tokens).to(ScalarType.Float32).contiguous().data<float>().ToArray();
    }

    private static float[] LogProbs(LanguageModel model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = tensor(Rows.SelectMany(r => r).Select(t => (long)t).ToArray(), [Rows.Length, Rows[0].Length]);
        var logits = model.Model.forward(tokens).narrow(2, 0, model.VocabularySize).to(ScalarType.Float32);
        return nn.functional.log_softmax(logits, -1).contiguous().data<float>().ToArray();
    }

    private static Dictionary<string, long[]> OriginalTensors(string directory) =>
        Directory.EnumerateFiles(directory, "*.safetensors")
            .SelectMany(file => SafetensorsBytes.Read(file).Tensors)
            .ToDictionary(t => t.Name, t => t.Shape);

    private static JsonObject Json(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    // JSON values equal as data: numbers by value (1e-06 and 1E-06, 10000.0 and 10000), objects by key, arrays in order.
    private static bool SameJson(JsonNode? a, JsonNode? b) => (a, b) switch
    {
        (null, null) => true,
        (JsonObject x, JsonObject y) => x.Count == y.Count && x.All(p => y.ContainsKey(p.Key) && SameJson(p.Value, y[p.Key])),
        (JsonArray x, JsonArray y) => x.Count == y.Count && x.Zip(y).All(p => SameJson(p.First, p.Second)),
        (JsonValue x, JsonValue y) when x.GetValueKind() == System.Text.Json.JsonValueKind.Number && y.GetValueKind() == System.Text.Json.JsonValueKind.Number
            => x.GetValue<double>() == y.GetValue<double>(),
        (JsonValue x, JsonValue y) => x.ToJsonString() == y.ToJsonString(),
        _ => false,
    };
}
