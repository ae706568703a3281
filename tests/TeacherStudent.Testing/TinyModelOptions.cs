using System.Globalization;

namespace TeacherStudent.Testing;

/// <summary>
/// The tiny random model <see cref="HuggingFaceReference.WriteModel"/> writes: one property per flag of
/// <c>hf_llama_reference.py write</c>, with the script's defaults.
/// </summary>
public sealed record TinyModelOptions
{
    /// <summary>llama, mistral, qwen2 or qwen3: the config.json's model_type and architecture.</summary>
    public string Family { get; init; } = "llama";

    /// <summary>float32, bfloat16 or float16: the dtype the weights are stored in (and config.json's torch_dtype).</summary>
    public string Dtype { get; init; } = "float32";

    /// <summary>Two shards and model.safetensors.index.json instead of one model.safetensors.</summary>
    public bool Sharded { get; init; }

    /// <summary>tie_word_embeddings: the head is the embedding, and the checkpoint has no lm_head.weight.</summary>
    public bool Tied { get; init; }

    public int Layers { get; init; } = 2;

    public int Hidden { get; init; } = 64;

    public int Heads { get; init; } = 4;

    /// <summary>Key/value heads (grouped-query attention when fewer than <see cref="Heads"/>).</summary>
    public int KvHeads { get; init; } = 2;

    /// <summary>An explicit head_dim, as Qwen3 has (it may differ from Hidden / Heads); null for Hidden / Heads.</summary>
    public int? HeadDim { get; init; }

    public int Intermediate { get; init; } = 96;

    /// <summary>The tokenizer's size, 259 to 840 (256 bytes, merges learned from the script's built-in text, 3 special tokens).</summary>
    public int Vocab { get; init; } = 300;

    /// <summary>Embedding rows beyond the tokenizer, as Qwen pads its vocabulary: config.json's vocab_size is Vocab + PaddedVocab.</summary>
    public int PaddedVocab { get; init; }

    /// <summary>none, llama3 (factor 8 over an original context of 32) or linear (factor 2).</summary>
    public string RopeScaling { get; init; } = "none";

    public double RopeTheta { get; init; } = 10000;

    /// <summary>q/k/v/o biases for Llama and Qwen3 (Qwen2 always has q/k/v biases; Mistral has none).</summary>
    public bool AttentionBias { get; init; }

    /// <summary>The seed of the weights: the same seed gives the same tensors, sharded or not.</summary>
    public int Seed { get; init; }

    public int MaxPositions { get; init; } = 128;

    /// <summary>The command-line flags of <c>write</c> that say these options.</summary>
    internal IEnumerable<string> Arguments()
    {
        static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);
        yield return "--family"; yield return Family;
        yield return "--dtype"; yield return Dtype;
        if (Sharded) yield return "--sharded";
        if (Tied) yield return "--tied";
        yield return "--layers"; yield return Number(Layers);
        yield return "--hidden"; yield return Number(Hidden);
        yield return "--heads"; yield return Number(Heads);
        yield return "--kv-heads"; yield return Number(KvHeads);
        if (HeadDim is { } headDim) { yield return "--head-dim"; yield return Number(headDim); }
        yield return "--intermediate"; yield return Number(Intermediate);
        yield return "--vocab"; yield return Number(Vocab);
        yield return "--padded-vocab"; yield return Number(PaddedVocab);
        yield return "--rope-scaling"; yield return RopeScaling;
        yield return "--rope-theta"; yield return Number(RopeTheta);
        if (AttentionBias) yield return "--attention-bias";
        yield return "--seed"; yield return Number(Seed);
        yield return "--max-positions"; yield return Number(MaxPositions);
    }
}
