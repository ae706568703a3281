using System.Text.Json;
using TeacherStudent.Distillation.Text;
using TeacherStudent.Testing;

namespace TeacherStudent.Distillation.Tests.Models;

/// <summary>
/// The Hugging Face reference that the Llama-family decoder's tests compare against, run for real: the directories
/// it writes are what a Hugging Face checkpoint holds, and its forward tells the mistakes a decoder can make apart.
/// </summary>
public sealed class HuggingFaceReferenceTests : IDisposable
{
    private static readonly int[][] Rows =
    [
        [5, 17, 260, 3, 99, 150, 42, 7, 280, 11],
        [100, 101, 102, 103, 104, 105, 106, 107, 108, 109],
    ];

    private readonly TemporaryDirectory temporary = new();
    private int written;

    public void Dispose() => temporary.Dispose();

    [Theory]
    [InlineData("llama", false, false)]
    [InlineData("llama", true, true)]
    [InlineData("mistral", false, false)]
    [InlineData("qwen2", true, false)]
    [InlineData("qwen3", false, true)]
    public void AWrittenDirectoryHoldsTheTensorsOfItsFamilyUnderHuggingFaceNames(string family, bool tied, bool attentionBias)
    {
        var options = new TinyModelOptions { Family = family, Tied = tied, AttentionBias = attentionBias, HeadDim = family == "qwen3" ? 24 : null };

        var directory = Write(options);

        var tensors = ReadHeader(Path.Combine(directory, "model.safetensors"));
        var expected = ExpectedTensors(family, tied, attentionBias, headDim: family == "qwen3" ? 24 : 16);
        Assert.Equal(expected.Keys.Order(), tensors.Keys.Order());
        foreach (var (name, shape) in expected) Assert.Equal(shape, tensors[name].Shape);
        Assert.All(tensors.Values, t => Assert.Equal("F32", t.Dtype));
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "config.json")));
        Assert.Equal(family, config.RootElement.GetProperty("model_type").GetString());
        Assert.Equal(tied, config.RootElement.GetProperty("tie_word_embeddings").GetBoolean());
        Assert.Equal(300, config.RootElement.GetProperty("vocab_size").GetInt32());
    }

    [Fact]
    public void AWrittenTokenizerHasTheConfiguredSizeAndLoadsInTheProjectsTokenizer()
    {
        var directory = Write(new TinyModelOptions { Family = "qwen2", Vocab = 320, PaddedVocab = 16 });

        using var tokenizer = HuggingFaceTokenizer.Load(directory);
        var ids = tokenizer.Encode("<|im_start|>hello world<|im_end|>");

        Assert.Equal(320, tokenizer.Vocabulary.Size);
        Assert.Equal(new[] { "<|endoftext|>", "<|im_start|>", "<|im_end|>" }, tokenizer.Vocabulary.AddedTokens.Select(t => t.Content));
        Assert.Equal(318, ids[0]);
        Assert.Equal(319, ids[^1]);
        Assert.True(ids.Length < 2 + "hello world".Length, "the merges join some of the bytes");
        Assert.Equal("hello world", string.Concat(tokenizer.Tokens(ids[1..^1])).Replace('Ġ', ' '));
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "config.json")));
        Assert.Equal(336, config.RootElement.GetProperty("vocab_size").GetInt32());
        Assert.Equal(317, config.RootElement.GetProperty("bos_token_id").GetInt32());
        Assert.Equal(319, config.RootElement.GetProperty("eos_token_id").GetInt32());
    }

    [Fact]
    public void ShardedAndSingleFileDirectoriesOfOneSeedGiveTheSameLogProbs()
    {
        var single = Write(new TinyModelOptions { Family = "qwen2", Dtype = "bfloat16", Seed = 3 });
        var sharded = Write(new TinyModelOptions { Family = "qwen2", Dtype = "bfloat16", Seed = 3, Sharded = true });

        var expected = HuggingFaceReference.LogProbs(single, Rows, temperature: 1.0);
        var actual = HuggingFaceReference.LogProbs(sharded, Rows, temperature: 1.0);

        Assert.False(File.Exists(Path.Combine(sharded, "model.safetensors")));
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(sharded, "model.safetensors.index.json")));
        var weightMap = index.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        var shards = weightMap.Values.Distinct().ToDictionary(file => file, file => ReadHeader(Path.Combine(sharded, file)));
        Assert.Equal(new[] { "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors" }, shards.Keys.Order());
        Assert.All(weightMap, entry => Assert.Contains(entry.Key, shards[entry.Value].Keys));
        Assert.Equal(ReadHeader(Path.Combine(single, "model.safetensors")).Keys.Order(), weightMap.Keys.Order());
        Assert.Equal(shards.Values.Sum(s => s.Values.Sum(t => t.Bytes)), index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
        Assert.True(MaxDifference(expected, actual) < 1e-12);
    }

    [Theory]
    [InlineData("qwen2", "float32", "no-bias")]
    [InlineData("llama", "bfloat16", "bf16-as-f16")]
    [InlineData("llama", "float32", "kv-heads-tiled")]
    [InlineData("qwen3", "float32", "interleaved-rope")]
    public void EachWrongForwardDiffersFromTheRightOneByMoreThanAHundredth(string family, string dtype, string variant)
    {
        var directory = Write(new TinyModelOptions { Family = family, Dtype = dtype, Heads = 4, KvHeads = 2 });

        var right = HuggingFaceReference.LogProbs(directory, Rows, temperature: 1.0);
        var wrong = HuggingFaceReference.LogProbs(directory, Rows, temperature: 1.0, variant: variant);

        Assert.True(MaxDifference(right, wrong) > 1e-2, $"{variant} differs by only {MaxDifference(right, wrong)}");
    }

    [Fact]
    public void TheRopeScalingOfTheConfigChangesTheLogProbsOfTheSameWeights()
    {
        var plain = HuggingFaceReference.LogProbs(Write(new TinyModelOptions { RopeScaling = "none" }), Rows, temperature: 1.0);
        var llama3 = HuggingFaceReference.LogProbs(Write(new TinyModelOptions { RopeScaling = "llama3" }), Rows, temperature: 1.0);
        var linear = HuggingFaceReference.LogProbs(Write(new TinyModelOptions { RopeScaling = "linear" }), Rows, temperature: 1.0);

        Assert.True(MaxDifference(plain, llama3) > 1e-2);
        Assert.True(MaxDifference(plain, linear) > 1e-2);
        Assert.True(MaxDifference(llama3, linear) > 1e-2);
    }

    [Fact]
    public void EveryPositionsLogProbsAreNormalisedOverTheVocabularyKeptAtTheTemperatureAsked()
    {
        var directory = Write(new TinyModelOptions { Family = "qwen3", HeadDim = 24, PaddedVocab = 20 });

        var logProbs = HuggingFaceReference.LogProbs(directory, Rows, temperature: 2.0, vocabulary: 300);

        Assert.Equal(Rows.Length, logProbs.Length);
        Assert.All(logProbs, row => Assert.Equal(Rows[0].Length, row.Length));
        Assert.All(logProbs.SelectMany(row => row), position =>
        {
            Assert.Equal(300, position.Length);
            Assert.Equal(0.0, LogSumExp(position), precision: 9);
        });
    }

    [Fact]
    public void APositionsLogProbsDoNotDependOnTheTokensAfterIt()
    {
        var directory = Write(new TinyModelOptions { Family = "mistral" });
        int[][] rows = [[5, 17, 260, 3, 99, 150, 42], [5, 17, 260, 3, 201, 202, 203]];

        var logProbs = HuggingFaceReference.LogProbs(directory, rows, temperature: 1.0);

        for (var t = 0; t < 4; t++) Assert.True(MaxDifference([[logProbs[0][t]]], [[logProbs[1][t]]]) < 1e-12);
        Assert.True(MaxDifference([[logProbs[0][4]]], [[logProbs[1][4]]]) > 1e-2);
    }

    [Fact]
    public void AReferenceThatFailsIsReportedWithPythonsMessage()
    {
        var noBias = Write(new TinyModelOptions { Family = "llama" });

        var missing = Assert.Throws<InvalidOperationException>(() => HuggingFaceReference.LogProbs(temporary.File("absent"), Rows, temperature: 1.0));
        var pointless = Assert.Throws<InvalidOperationException>(() => HuggingFaceReference.LogProbs(noBias, Rows, temperature: 1.0, variant: "no-bias"));

        Assert.Contains("has no config.json", missing.Message);
        Assert.Contains("would change nothing", pointless.Message);
    }

    private string Write(TinyModelOptions options)
    {
        var directory = temporary.File($"model-{++written}");
        HuggingFaceReference.WriteModel(directory, options);
        return directory;
    }

    /// <summary>The tensors a Hugging Face checkpoint of the default tiny shape holds (hidden 64, 4 heads, 2 kv heads, 2 layers).</summary>
    private static Dictionary<string, long[]> ExpectedTensors(string family, bool tied, bool attentionBias, int headDim)
    {
        const int hidden = 64, inner = 96, vocab = 300;
        int q = 4 * headDim, kv = 2 * headDim;
        var tensors = new Dictionary<string, long[]> { ["model.embed_tokens.weight"] = [vocab, hidden], ["model.norm.weight"] = [hidden] };
        if (!tied) tensors["lm_head.weight"] = [vocab, hidden];
        for (var i = 0; i < 2; i++)
        {
            var p = $"model.layers.{i}.";
            tensors[p + "input_layernorm.weight"] = [hidden];
            tensors[p + "post_attention_layernorm.weight"] = [hidden];
            tensors[p + "self_attn.q_proj.weight"] = [q, hidden];
            tensors[p + "self_attn.k_proj.weight"] = [kv, hidden];
            tensors[p + "self_attn.v_proj.weight"] = [kv, hidden];
            tensors[p + "self_attn.o_proj.weight"] = [hidden, q];
            tensors[p + "mlp.gate_proj.weight"] = [inner, hidden];
            tensors[p + "mlp.up_proj.weight"] = [inner, hidden];
            tensors[p + "mlp.down_proj.weight"] = [hidden, inner];
            if (family == "qwen2" || attentionBias)
            {
                tensors[p + "self_attn.q_proj.bias"] = [q];
                tensors[p + "self_attn.k_proj.bias"] = [kv];
                tensors[p + "self_attn.v_proj.bias"] = [kv];
            }
            if (attentionBias && family != "qwen2") tensors[p + "self_attn.o_proj.bias"] = [hidden];
            if (family == "qwen3")
            {
                tensors[p + "self_attn.q_norm.weight"] = [headDim];
                tensors[p + "self_attn.k_norm.weight"] = [headDim];
            }
        }
        return tensors;
    }

    private sealed record TensorEntry(string Dtype, long[] Shape, long Bytes);

    /// <summary>The JSON header of a safetensors file: 8 bytes of little-endian length, then {name: {dtype, shape, data_offsets}}.</summary>
    private static Dictionary<string, TensorEntry> ReadHeader(string path)
    {
        using var file = File.OpenRead(path);
        var length = new byte[8];
        file.ReadExactly(length);
        var header = new byte[BitConverter.ToInt64(length)];
        file.ReadExactly(header);
        using var document = JsonDocument.Parse(header);
        return document.RootElement.EnumerateObject()
            .Where(p => p.Name != "__metadata__")
            .ToDictionary(p => p.Name, p =>
            {
                var offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt64()).ToArray();
                return new TensorEntry(
                    p.Value.GetProperty("dtype").GetString()!,
                    p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray(),
                    offsets[1] - offsets[0]);
            });
    }

    private static double MaxDifference(double[][][] a, double[][][] b)
    {
        var max = 0.0;
        for (var i = 0; i < a.Length; i++)
            for (var t = 0; t < a[i].Length; t++)
                for (var v = 0; v < a[i][t].Length; v++)
                    max = Math.Max(max, Math.Abs(a[i][t][v] - b[i][t][v]));
        return max;
    }

    private static double LogSumExp(double[] values)
    {
        var max = values.Max();
        return max + Math.Log(values.Sum(v => Math.Exp(v - max)));
    }
}
