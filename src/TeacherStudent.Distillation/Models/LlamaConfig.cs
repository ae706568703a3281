using System.Text.Json;
using System.Text.Json.Nodes;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// The shape of a <see cref="Llama"/>-family decoder, as a Hugging Face <c>config.json</c> gives it
/// (field names in the comments): everything needed to build one afresh or to check a checkpoint's
/// tensors. <see cref="Read"/> takes the configs of <c>LlamaForCausalLM</c>, <c>MistralForCausalLM</c>,
/// <c>Qwen2ForCausalLM</c> and <c>Qwen3ForCausalLM</c> and refuses, in one sentence, whatever this
/// decoder would compute differently; <see cref="ToJson"/> writes a config transformers reads back.
/// </summary>
public sealed record LlamaConfig
{
    /// <summary>The Hugging Face architecture (<c>architectures[0]</c>), e.g. <c>Qwen3ForCausalLM</c>.</summary>
    public required string Architecture { get; init; }

    /// <summary>Rows of the embedding and the output head (<c>vocab_size</c>); may exceed the tokenizer's tokens (padding).</summary>
    public required int VocabularySize { get; init; }

    /// <summary>Size of the residual stream (<c>hidden_size</c>).</summary>
    public required int Width { get; init; }

    /// <summary>Width of the SwiGLU feed-forward (<c>intermediate_size</c>).</summary>
    public required int FeedForwardWidth { get; init; }

    /// <summary>Decoder blocks (<c>num_hidden_layers</c>).</summary>
    public required int Layers { get; init; }

    /// <summary>Query heads (<c>num_attention_heads</c>).</summary>
    public required int Heads { get; init; }

    /// <summary>Key/value heads (<c>num_key_value_heads</c>); each serves Heads / KeyValueHeads query heads in turn.</summary>
    public required int KeyValueHeads { get; init; }

    /// <summary>Width of one head (<c>head_dim</c>, else hidden_size / heads).</summary>
    public required int HeadWidth { get; init; }

    /// <summary>Longest sequence served: <c>max_position_embeddings</c>, or the sliding window when that is shorter (within it the window changes nothing).</summary>
    public required int ContextLength { get; init; }

    /// <summary>RMSNorm's epsilon (<c>rms_norm_eps</c>).</summary>
    public double NormEpsilon { get; init; } = 1e-6;

    /// <summary>Base of the rotary frequencies (<c>rope_theta</c>).</summary>
    public double RopeTheta { get; init; } = 10000;

    /// <summary>Rotary scaling (<c>rope_scaling</c>), or null for none.</summary>
    public RopeScaling? RopeScaling { get; init; }

    /// <summary>Biases on the query, key and value projections (Qwen2 always; Llama's and Qwen3's <c>attention_bias</c>).</summary>
    public bool QueryKeyValueBias { get; init; }

    /// <summary>A bias on the attention's output projection (Llama's and Qwen3's <c>attention_bias</c>; never Qwen2's).</summary>
    public bool OutputBias { get; init; }

    /// <summary>Per-head RMSNorm of queries and keys before the rotation (Qwen3).</summary>
    public bool QueryKeyNorm { get; init; }

    /// <summary>The output head is the embedding matrix (<c>tie_word_embeddings</c>).</summary>
    public bool TiedHead { get; init; }

    /// <summary>Dropout on the attention weights while training (<c>attention_dropout</c>); none in eval mode.</summary>
    public double AttentionDropout { get; init; }

    /// <summary>The dtype the weights were saved in (<c>torch_dtype</c> / <c>dtype</c>), as written, when given.</summary>
    public string? WeightDType { get; init; }

    /// <summary>Begin/end-of-sequence ids the config names (<c>bos_token_id</c>, <c>eos_token_id</c>: the first when a list).</summary>
    public int? BeginOfSequenceId { get; init; }

    /// <inheritdoc cref="BeginOfSequenceId"/>
    public int? EndOfSequenceId { get; init; }

    /// <summary>Query heads per key/value head.</summary>
    public int QueriesPerKeyValue => Heads / KeyValueHeads;

    /// <summary>The architectures this decoder computes exactly.</summary>
    public static readonly IReadOnlyList<string> SupportedArchitectures =
        ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"];

    /// <summary>The file a Hugging Face model directory keeps its config in.</summary>
    public const string FileName = "config.json";

    /// <summary>
    /// A small model for training from scratch: a Llama with a tied head (as small models have, so the
    /// vocabulary costs its matrix once), as many key/value heads as <paramref name="keyValueHeads"/> (all by
    /// default), a SwiGLU of about 8/3 the width (rounded up to a multiple of 8: as many values as a 4x MLP),
    /// rope_theta 10000.
    /// </summary>
    public static LlamaConfig Small(int vocabularySize, int contextLength, int layers, int width, int heads, int keyValueHeads = 0,
        double attentionDropout = 0, string architecture = "LlamaForCausalLM") => new LlamaConfig
    {
        Architecture = architecture,
        VocabularySize = vocabularySize,
        Width = width,
        FeedForwardWidth = (8 * width / 3 + 7) / 8 * 8,
        Layers = layers,
        Heads = heads,
        KeyValueHeads = keyValueHeads > 0 ? keyValueHeads : heads,
        HeadWidth = heads > 0 ? width / heads : 0,
        ContextLength = contextLength,
        TiedHead = true,
        QueryKeyNorm = architecture == "Qwen3ForCausalLM",
        QueryKeyValueBias = architecture == "Qwen2ForCausalLM",
        AttentionDropout = attentionDropout,
    };

    /// <summary>This config, or an <see cref="ArgumentException"/> saying which value is out of range.</summary>
    public LlamaConfig Validate()
    {
        if (!SupportedArchitectures.Contains(Architecture))
            throw new ArgumentException($"architecture {Architecture} is not supported (supported: {string.Join(", ", SupportedArchitectures)}).");
        Positive(VocabularySize, "vocab_size");
        Positive(Width, "hidden_size");
        Positive(FeedForwardWidth, "intermediate_size");
        Positive(Layers, "num_hidden_layers");
        Positive(Heads, "num_attention_heads");
        Positive(KeyValueHeads, "num_key_value_heads");
        Positive(HeadWidth, "head_dim");
        Positive(ContextLength, "max_position_embeddings");
        if (Heads % KeyValueHeads != 0)
            throw new ArgumentException($"num_attention_heads ({Heads}) must be a multiple of num_key_value_heads ({KeyValueHeads}).");
        if (HeadWidth % 2 != 0) throw new ArgumentException($"head_dim must be even for rotary embeddings, not {HeadWidth}.");
        if (!(NormEpsilon > 0)) throw new ArgumentException($"rms_norm_eps must be positive, not {NormEpsilon}.");
        if (!(RopeTheta > 0)) throw new ArgumentException($"rope_theta must be positive, not {RopeTheta}.");
        if (!(AttentionDropout is >= 0 and < 1)) throw new ArgumentException($"attention_dropout must be in [0, 1), not {AttentionDropout}.");
        RopeScaling?.Validate();
        return this;
    }

    private static void Positive(int value, string name)
    {
        if (value < 1) throw new ArgumentException($"{name} must be at least 1, not {value}.");
    }

    /// <summary>Reads and checks <paramref name="path"/> (a <c>config.json</c>).</summary>
    /// <exception cref="InvalidDataException">the file is not JSON, or describes a model this decoder does not compute; the message names the file and says what.</exception>
    public static LlamaConfig Read(string path)
    {
        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject ?? throw new InvalidDataException("it is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {e.Message}", e);
        }
        try
        {
            return Parse(json).Validate();
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Builds the config from a parsed <c>config.json</c>; unsupported settings throw with a sentence.</summary>
    public static LlamaConfig Parse(JsonObject json)
    {
        // Numbers of a parsed document convert to any numeric type; those of a node built in memory
        // only to their own (an int is no double), so a built node is read as its text would be.
        json = JsonNode.Parse(json.ToJsonString())!.AsObject();
        var architecture = json["architectures"] is JsonArray { Count: > 0 } names ? names[0]!.GetValue<string>()
            : throw new InvalidDataException("it names no architecture (\"architectures\": [...]).");
        if (!SupportedArchitectures.Contains(architecture))
            throw new InvalidDataException($"architecture {architecture} is not supported (supported: {string.Join(", ", SupportedArchitectures)}).");
        var isQwen2 = architecture == "Qwen2ForCausalLM";
        var isQwen3 = architecture == "Qwen3ForCausalLM";

        var width = Required(json, "hidden_size");
        var heads = Required(json, "num_attention_heads");
        var activation = (string?)json["hidden_act"] ?? "silu";
        if (activation != "silu")
            throw new InvalidDataException($"hidden_act {activation} is not supported (only silu, the SwiGLU of the Llama family).");
        if ((bool?)json["mlp_bias"] == true) throw new InvalidDataException("mlp_bias true is not supported.");
        if (json["partial_rotary_factor"] is { } partial && (double)partial != 1.0)
            throw new InvalidDataException($"partial_rotary_factor {partial} is not supported (only 1: the whole head rotates).");
        if (json["pretraining_tp"] is { } tp && (int)tp > 1)
            throw new InvalidDataException($"pretraining_tp {tp} is not supported.");

        // Llama's and Qwen3's attention_bias puts a bias on all four projections; Qwen2 has q/k/v biases
        // always and none on the output; Mistral has none (transformers ignores the key there).
        var attentionBias = architecture is "LlamaForCausalLM" or "Qwen3ForCausalLM" && (bool?)json["attention_bias"] == true;

        var maxPositions = Required(json, "max_position_embeddings");
        var window = SlidingWindow(json, isQwen2 || isQwen3);

        // transformers 5 writes rope_theta and the scaling together as rope_parameters; 4.x as rope_theta and rope_scaling.
        var ropeParameters = json["rope_parameters"] as JsonObject;
        var theta = (double?)ropeParameters?["rope_theta"] ?? (double?)json["rope_theta"] ?? 10000.0;
        var scaling = RopeScaling.Parse(ropeParameters ?? json["rope_scaling"] as JsonObject);

        return new LlamaConfig
        {
            Architecture = architecture,
            VocabularySize = Required(json, "vocab_size"),
            Width = width,
            FeedForwardWidth = Required(json, "intermediate_size"),
            Layers = Required(json, "num_hidden_layers"),
            Heads = heads,
            KeyValueHeads = (int?)json["num_key_value_heads"] ?? heads,
            HeadWidth = (int?)json["head_dim"] ?? (heads > 0 && width % heads == 0 ? width / heads
                : throw new InvalidDataException($"hidden_size ({width}) is not a multiple of num_attention_heads ({heads}) and no head_dim is given.")),
            ContextLength = window is { } w && w < maxPositions ? w : maxPositions,
            NormEpsilon = (double?)json["rms_norm_eps"] ?? 1e-6,
            AttentionDropout = (double?)json["attention_dropout"] ?? 0,
            RopeTheta = theta,
            RopeScaling = scaling,
            QueryKeyValueBias = isQwen2 || attentionBias,
            OutputBias = attentionBias,
            QueryKeyNorm = isQwen3,
            TiedHead = (bool?)json["tie_word_embeddings"] ?? false,
            WeightDType = (string?)json["torch_dtype"] ?? (string?)json["dtype"],
            BeginOfSequenceId = FirstId(json["bos_token_id"]),
            EndOfSequenceId = FirstId(json["eos_token_id"]),
        };
    }

    // A sliding window only hides positions more than a window away, so within the window attention is
    // exactly full attention: such a model is served with its context cut to the window. A window on
    // some layers only (Qwen's max_window_layers) is the same case, cut the same way.
    private static int? SlidingWindow(JsonObject json, bool qwen)
    {
        if (qwen && (bool?)json["use_sliding_window"] != true) return null;
        return json["sliding_window"] is JsonValue value && value.TryGetValue<int>(out var window) && window > 0 ? window : null;
    }

    private static int Required(JsonObject json, string name) =>
        json[name] is JsonValue value && value.TryGetValue<int>(out var number) ? number
            : throw new InvalidDataException($"it has no integer {name}.");

    private static int? FirstId(JsonNode? node) => node switch
    {
        JsonArray { Count: > 0 } list => (int?)list[0],
        JsonValue value when value.TryGetValue<int>(out var id) => id,
        _ => null,
    };

    /// <summary>
    /// The config as transformers writes it for <see cref="Architecture"/> (model_type, the sizes,
    /// rope settings, biases, tying, <paramref name="dtype"/> as torch_dtype), for a student leaving
    /// as a Hugging Face directory.
    /// </summary>
    public JsonObject ToJson(string dtype)
    {
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray(Architecture),
            ["model_type"] = ModelType,
            ["vocab_size"] = VocabularySize,
            ["hidden_size"] = Width,
            ["intermediate_size"] = FeedForwardWidth,
            ["num_hidden_layers"] = Layers,
            ["num_attention_heads"] = Heads,
            ["num_key_value_heads"] = KeyValueHeads,
            ["head_dim"] = HeadWidth,
            ["max_position_embeddings"] = ContextLength,
            ["rms_norm_eps"] = NormEpsilon,
            ["rope_theta"] = RopeTheta,
            ["rope_scaling"] = RopeScaling?.ToJson(),
            ["hidden_act"] = "silu",
            ["tie_word_embeddings"] = TiedHead,
            ["torch_dtype"] = dtype,
            ["bos_token_id"] = BeginOfSequenceId,
            ["eos_token_id"] = EndOfSequenceId,
            ["attention_dropout"] = AttentionDropout,
        };
        switch (Architecture)
        {
            case "LlamaForCausalLM":
                json["attention_bias"] = QueryKeyValueBias;
                json["mlp_bias"] = false;
                break;
            case "MistralForCausalLM":
                json["sliding_window"] = null;
                break;
            case "Qwen2ForCausalLM":
            case "Qwen3ForCausalLM":
                json["use_sliding_window"] = false;
                json["sliding_window"] = null;
                if (Architecture == "Qwen3ForCausalLM") json["attention_bias"] = QueryKeyValueBias;
                break;
        }
        return json;
    }

    /// <summary>transformers' model_type for <see cref="Architecture"/>.</summary>
    public string ModelType => Architecture switch
    {
        "LlamaForCausalLM" => "llama",
        "MistralForCausalLM" => "mistral",
        "Qwen2ForCausalLM" => "qwen2",
        "Qwen3ForCausalLM" => "qwen3",
        _ => throw new InvalidOperationException($"no model_type for {Architecture}."),
    };
}

/// <summary>
/// How rotary frequencies are stretched for long contexts: <c>linear</c> (every frequency divided by
/// <see cref="Factor"/>) or <c>llama3</c> (low frequencies divided, high ones kept, a smooth blend between,
/// with <see cref="LowFrequencyFactor"/>, <see cref="HighFrequencyFactor"/> and <see cref="OriginalContextLength"/>).
/// </summary>
public sealed record RopeScaling(string Type, double Factor, double LowFrequencyFactor = 1, double HighFrequencyFactor = 4, int OriginalContextLength = 8192)
{
    /// <summary>Reads <c>rope_scaling</c> (or transformers 5's <c>rope_parameters</c>); null or type "default" is no scaling; another type is refused.</summary>
    public static RopeScaling? Parse(JsonObject? json)
    {
        if (json is null) return null;
        var type = (string?)json["rope_type"] ?? (string?)json["type"] ?? "default";
        switch (type)
        {
            case "default":
                return null;
            case "linear":
                return new RopeScaling(type, Number(json, "factor"));
            case "llama3":
                return new RopeScaling(type, Number(json, "factor"), Number(json, "low_freq_factor"), Number(json, "high_freq_factor"),
                    (int)Number(json, "original_max_position_embeddings"));
            default:
                throw new InvalidDataException($"rope scaling of type {type} is not supported (supported: linear, llama3).");
        }
    }

    private static double Number(JsonObject json, string name) =>
        (double?)json[name] ?? throw new InvalidDataException($"its rope scaling has no {name}.");

    /// <summary>This scaling, or an <see cref="ArgumentException"/> saying which value is out of range.</summary>
    public RopeScaling Validate()
    {
        if (!(Factor > 0)) throw new ArgumentException($"rope scaling factor must be positive, not {Factor}.");
        if (Type == "llama3" && !(HighFrequencyFactor > LowFrequencyFactor && LowFrequencyFactor > 0 && OriginalContextLength > 0))
            throw new ArgumentException("llama3 rope scaling needs 0 < low_freq_factor < high_freq_factor and a positive original_max_position_embeddings.");
        return this;
    }

    /// <summary>As transformers writes it in <c>rope_scaling</c>.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject { ["rope_type"] = Type, ["factor"] = Factor };
        if (Type == "llama3")
        {
            json["low_freq_factor"] = LowFrequencyFactor;
            json["high_freq_factor"] = HighFrequencyFactor;
            json["original_max_position_embeddings"] = OriginalContextLength;
        }
        return json;
    }
}
