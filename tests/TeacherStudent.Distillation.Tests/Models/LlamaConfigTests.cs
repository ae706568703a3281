using System.Text.Json.Nodes;
using TeacherStudent.Distillation.Models;

namespace TeacherStudent.Distillation.Tests.Models;

/// <summary>Reading Hugging Face config.json files: what each family means, and what is refused.</summary>
public sealed class LlamaConfigTests
{
    // Qwen3-0.6B's config.json as published (the fields the decoder reads).
    private const string Qwen3Small = """
        {
          "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "attention_bias": false, "attention_dropout": 0.0,
          "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024,
          "initializer_range": 0.02, "intermediate_size": 3072, "max_position_embeddings": 40960, "max_window_layers": 28,
          "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
          "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true,
          "torch_dtype": "bfloat16", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936
        }
        """;

    // Llama 3.2 1B's: llama3 rope scaling, grouped-query attention, a tied head, eos as a list.
    private const string Llama32 = """
        {
          "architectures": ["LlamaForCausalLM"], "model_type": "llama", "attention_bias": false, "bos_token_id": 128000,
          "eos_token_id": [128001, 128008, 128009], "head_dim": 64, "hidden_act": "silu", "hidden_size": 2048,
          "intermediate_size": 8192, "max_position_embeddings": 131072, "mlp_bias": false, "num_attention_heads": 32,
          "num_hidden_layers": 16, "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
          "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"},
          "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "vocab_size": 128256
        }
        """;

    private static LlamaConfig Parse(string json) => LlamaConfig.Parse(JsonNode.Parse(json)!.AsObject()).Validate();

    private static string With(string json, string key, JsonNode? value)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        node[key] = value;
        return node.ToJsonString();
    }

    [Fact]
    public void Qwen3ReadsWithItsHeadWidthNormsAndTiedHead()
    {
        var config = Parse(Qwen3Small);

        Assert.Equal((1024, 3072, 28, 16, 8, 128), (config.Width, config.FeedForwardWidth, config.Layers, config.Heads, config.KeyValueHeads, config.HeadWidth));
        Assert.True(config.QueryKeyNorm);
        Assert.False(config.QueryKeyValueBias);
        Assert.True(config.TiedHead);
        Assert.Equal(40960, config.ContextLength);
        Assert.Equal(1e6, config.RopeTheta);
        Assert.Null(config.RopeScaling);
        Assert.Equal("bfloat16", config.WeightDType);
    }

    [Fact]
    public void Llama3ReadsItsRopeScalingAndTheFirstOfItsEndIds()
    {
        var config = Parse(Llama32);

        Assert.Equal(new RopeScaling("llama3", 32, 1, 4, 8192), config.RopeScaling);
        Assert.Equal(500000, config.RopeTheta);
        Assert.Equal(4, config.QueriesPerKeyValue);
        Assert.Equal(128001, config.EndOfSequenceId);
        Assert.False(config.QueryKeyNorm);
    }

    [Fact]
    public void Qwen2AlwaysHasQueryKeyValueBiasesAndLlamaOnlyWhenAsked()
    {
        var qwen2 = With(With(Qwen3Small, "architectures", new JsonArray("Qwen2ForCausalLM")), "head_dim", null);

        Assert.True(Parse(qwen2).QueryKeyValueBias);
        Assert.False(Parse(qwen2).QueryKeyNorm);
        Assert.Equal(1024 / 16, Parse(qwen2).HeadWidth);
        Assert.False(Parse(Llama32).QueryKeyValueBias);
        Assert.True(Parse(With(Llama32, "attention_bias", true)).QueryKeyValueBias);
    }

    [Fact]
    public void ASlidingWindowCutsTheContextToTheWindowWhereAttentionIsExact()
    {
        var mistral = With(With(Llama32, "architectures", new JsonArray("MistralForCausalLM")), "sliding_window", 4096);

        Assert.Equal(4096, Parse(mistral).ContextLength);
        Assert.Equal(131072, Parse(With(mistral, "sliding_window", null)).ContextLength);
        // Qwen's window is off unless use_sliding_window says so.
        Assert.Equal(40960, Parse(With(Qwen3Small, "sliding_window", 4096)).ContextLength);
        Assert.Equal(4096, Parse(With(With(Qwen3Small, "sliding_window", 4096), "use_sliding_window", true)).ContextLength);
    }

    [Fact]
    public void Transformers5RopeParametersReadLikeRopeThetaAndScaling()
    {
        var parameters = new JsonObject { ["rope_theta"] = 250000.0, ["rope_type"] = "linear", ["factor"] = 2.0 };
        var config = Parse(With(With(Llama32, "rope_scaling", null), "rope_parameters", parameters));

        Assert.Equal(250000, config.RopeTheta);
        Assert.Equal(new RopeScaling("linear", 2), config.RopeScaling);
    }

    [Theory]
    [InlineData("architectures", """["GPT2LMHeadModel"]""", "architecture GPT2LMHeadModel is not supported")]
    [InlineData("rope_scaling", """{"rope_type": "yarn", "factor": 4.0}""", "rope scaling of type yarn is not supported")]
    [InlineData("hidden_act", "\"gelu\"", "hidden_act gelu is not supported")]
    [InlineData("num_key_value_heads", "5", "must be a multiple of num_key_value_heads (5)")]
    [InlineData("mlp_bias", "true", "mlp_bias true is not supported")]
    [InlineData("hidden_size", "null", "it has no integer hidden_size")]
    public void WhatTheDecoderWouldComputeDifferentlyIsRefusedNamingTheFileAndTheSetting(string key, string value, string expected)
    {
        using var directory = new TemporaryDirectory();
        var path = Path.Combine(directory.Path, "config.json");
        File.WriteAllText(path, With(Llama32, key, JsonNode.Parse(value)));

        var error = Assert.Throws<InvalidDataException>(() => LlamaConfig.Read(path));

        Assert.Contains(expected, error.Message);
        Assert.StartsWith(path, error.Message);
    }

    [Fact]
    public void WrittenConfigsReadBackAsTheSameConfig()
    {
        foreach (var config in new[] { Parse(Qwen3Small), Parse(Llama32), Parse(With(Qwen3Small, "architectures", new JsonArray("Qwen2ForCausalLM"))) })
        {
            var again = LlamaConfig.Parse(config.ToJson("float32")) with { WeightDType = config.WeightDType };

            Assert.Equal(config, again);
        }
    }
}
