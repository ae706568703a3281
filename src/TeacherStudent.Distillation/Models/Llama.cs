using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TeacherStudent.Distillation.Models;

// The Llama family's decoder (Llama 2/3, Mistral, Qwen2, Qwen3), written from the semantics of
// transformers' modeling_llama.py and its Qwen variants: the small classes in the order a token meets
// them, the whole model at the end. Submodules and parameters carry Hugging Face's names, so the
// state dict's keys are a checkpoint's tensor names (model.layers.0.self_attn.q_proj.weight, ...).
// Parameters are allocated empty (ParameterMemory), on the device and in the dtype asked: a loaded model is filled
// from its files without first paying for a random initialisation, and a fresh one is initialised
// by Llama.InitialiseRandomly. Shapes: B batch, L length, C width, H query heads, K key/value heads,
// D head width, F feed-forward width, V vocabulary.

/// <summary>
/// A part of the decoder whose submodules and parameters are registered by hand under Hugging Face's
/// names; TorchSharp's registration of every field by its C# name is turned off, or each tensor
/// would appear twice in the state dict.
/// </summary>
internal abstract class NamedModule(string name) : Module<Tensor, Tensor>(name)
{
    protected override void RegisterComponents() { }
}

/// <summary>A weight matrix [out, in] and an optional bias: y = x Wᵀ + b. Named like torch's Linear.</summary>
internal sealed class Projection : NamedModule
{
    private readonly Parameter weight;
    private readonly Parameter? bias;

    public Projection(long inputs, long outputs, bool hasBias, ParameterMemory memory) : base(nameof(Projection))
    {
        weight = memory.NewParameter(outputs, inputs);
        register_parameter("weight", weight);
        if (hasBias)
        {
            bias = memory.NewParameter(outputs);
            register_parameter("bias", bias);
        }
    }

    public override Tensor forward(Tensor x) => functional.linear(x, weight, bias);
}

/// <summary>
/// RMSNorm (Zhang and Sennrich 2019) as transformers computes it: in float32 whatever the input,
/// x / sqrt(mean(x²) + eps), cast back, then scaled by a learned weight.
/// </summary>
internal sealed class RmsNorm : NamedModule
{
    private readonly Parameter weight;
    private readonly Scalar epsilon; // held: see TorchScalars

    public RmsNorm(long width, double epsilon, ParameterMemory memory) : base(nameof(RmsNorm))
    {
        weight = memory.NewParameter(width);
        register_parameter("weight", weight);
        this.epsilon = epsilon.ToScalar();
    }

    public override Tensor forward(Tensor x)
    {
        var h = x.to_type(ScalarType.Float32);
        var variance = h.mul(h).mean([-1L], keepdim: true); // not square(), which is pow(2) with an unheld 2
        return weight.mul(h.mul(variance.add(epsilon, TorchScalars.One).rsqrt()).to_type(x.dtype)); // with its alpha held (see TorchScalars)
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) epsilon.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>
/// Rotary position embeddings (Su et al. 2021), rotate-half form: the first and second halves of
/// each head are the two coordinates of D / 2 planes, rotated by position × frequency. Frequencies are
/// rope_theta^(-2i / D), stretched by the config's scaling (linear, or llama3's by wavelength).
/// </summary>
internal sealed class RotaryEmbedding : Module
{
    protected override void RegisterComponents() { } // its one buffer is registered by hand

    private readonly Tensor inverseFrequencies; // [D / 2], float32, a buffer so it follows the device

    public RotaryEmbedding(LlamaConfig config, Device device) : base(nameof(RotaryEmbedding))
    {
        inverseFrequencies = tensor(InverseFrequencies(config), ScalarType.Float32, device);
        register_buffer("inv_freq", inverseFrequencies, persistent: false);
    }

    /// <summary>cos and sin [.., n, D] for int64 <paramref name="positions"/> [.., n], in <paramref name="dtype"/>.</summary>
    public (Tensor Cos, Tensor Sin) At(Tensor positions, ScalarType dtype)
    {
        var angles = positions.to_type(ScalarType.Float32).unsqueeze(-1).mul(inverseFrequencies); // [.., n, D / 2]
        var both = cat([angles, angles], -1);
        return (both.cos().to_type(dtype), both.sin().to_type(dtype));
    }

    /// <summary>x [B, heads, n, D] rotated: x cos + rotate_half(x) sin, with cos and sin [n, D] or [B, n, D].</summary>
    public static Tensor Rotate(Tensor x, Tensor cos, Tensor sin)
    {
        if (cos.dim() == 3)
        {
            cos = cos.unsqueeze(1);
            sin = sin.unsqueeze(1);
        }
        var halves = x.chunk(2, -1);
        var rotated = cat([halves[1].neg(), halves[0]], -1);
        return x.mul(cos).add(rotated.mul(sin), TorchScalars.One);
    }

    // Written in double and rounded once (transformers computes them in float32 directly).
    internal static float[] InverseFrequencies(LlamaConfig config)
    {
        int half = config.HeadWidth / 2;
        var frequencies = new float[half];
        for (int i = 0; i < half; i++)
        {
            double frequency = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / config.HeadWidth);
            frequencies[i] = (float)Scaled(frequency, config.RopeScaling);
        }
        return frequencies;
    }

    private static double Scaled(double frequency, RopeScaling? scaling)
    {
        switch (scaling?.Type)
        {
            case null:
                return frequency;
            case "linear":
                return frequency / scaling.Factor;
            case "llama3":
                // Wavelengths shorter than the original context / high_freq_factor are kept, longer than
                // context / low_freq_factor are divided by the factor, and those between are blended.
                double wavelength = 2 * Math.PI / frequency;
                double lowFrequencyWavelength = scaling.OriginalContextLength / scaling.LowFrequencyFactor;
                double highFrequencyWavelength = scaling.OriginalContextLength / scaling.HighFrequencyFactor;
                if (wavelength < highFrequencyWavelength) return frequency;
                if (wavelength > lowFrequencyWavelength) return frequency / scaling.Factor;
                double smooth = (scaling.OriginalContextLength / wavelength - scaling.LowFrequencyFactor)
                                / (scaling.HighFrequencyFactor - scaling.LowFrequencyFactor);
                return (1 - smooth) * frequency / scaling.Factor + smooth * frequency;
            default:
                throw new ArgumentException($"rope scaling of type {scaling.Type} is not supported.");
        }
    }
}

/// <summary>
/// Grouped-query causal self-attention: H query heads share K key/value heads, query head j reading
/// key/value head j / (H / K). Optional biases on the q/k/v projections (Qwen2; Llama's and Qwen3's
/// attention_bias, which also puts one on the output projection) and per-head RMSNorm
/// of queries and keys before the rotation (Qwen3).
/// </summary>
internal sealed class LlamaAttention : NamedModule
{
    private readonly Projection queries;    // C -> H·D
    private readonly Projection keys;       // C -> K·D
    private readonly Projection values;     // C -> K·D
    private readonly Projection output;     // H·D -> C, back into the residual stream
    private readonly RmsNorm? queryNorm;
    private readonly RmsNorm? keyNorm;
    private readonly int heads, keyValueHeads, headWidth;
    private readonly double dropout;

    public LlamaAttention(LlamaConfig config, ParameterMemory memory) : base(nameof(LlamaAttention))
    {
        (heads, keyValueHeads, headWidth, dropout) = (config.Heads, config.KeyValueHeads, config.HeadWidth, config.AttentionDropout);
        queries = new Projection(config.Width, heads * headWidth, config.QueryKeyValueBias, memory);
        keys = new Projection(config.Width, keyValueHeads * headWidth, config.QueryKeyValueBias, memory);
        values = new Projection(config.Width, keyValueHeads * headWidth, config.QueryKeyValueBias, memory);
        output = new Projection(heads * headWidth, config.Width, config.OutputBias, memory);
        register_module("q_proj", queries);
        register_module("k_proj", keys);
        register_module("v_proj", values);
        register_module("o_proj", output);
        if (config.QueryKeyNorm)
        {
            queryNorm = new RmsNorm(headWidth, config.NormEpsilon, memory);
            keyNorm = new RmsNorm(headWidth, config.NormEpsilon, memory);
            register_module("q_norm", queryNorm);
            register_module("k_norm", keyNorm);
        }
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("attention needs its rotation: call Attend.");

    /// <summary>Attention over the sequence itself, causally: x [B, L, C] -> [B, L, C].</summary>
    public Tensor Attend(Tensor x, Tensor cos, Tensor sin)
    {
        var (q, k, v) = Project(x, cos, sin);
        // The fused kernel applies dropout whenever p > 0, so it is asked for only while training.
        var attended = functional.scaled_dot_product_attention(q, Shared(k), Shared(v), p: training ? dropout : 0, is_casual: true);
        return Merge(attended, x);
    }

    /// <summary>
    /// Decoding with a cache: the keys and values of <paramref name="x"/> [B, n, C] are written to
    /// columns start..start+n of <paramref name="cachedKeys"/> and <paramref name="cachedValues"/> [B, K, capacity, D],
    /// and its queries attend over columns 0..start+n where <paramref name="mask"/> [B, 1, n, start+n] is true.
    /// </summary>
    public Tensor Decode(Tensor x, Tensor cos, Tensor sin, Tensor cachedKeys, Tensor cachedValues, long start, Tensor mask)
    {
        var (q, k, v) = Project(x, cos, sin);
        long length = x.shape[1], seen = start + length;
        cachedKeys.narrow(2, start, length).copy_(k);
        cachedValues.narrow(2, start, length).copy_(v);
        var attended = functional.scaled_dot_product_attention(q, Shared(cachedKeys.narrow(2, 0, seen)), Shared(cachedValues.narrow(2, 0, seen)), mask);
        return Merge(attended, x);
    }

    /// <summary>Rotated queries [B, H, n, D] and keys [B, K, n, D], and values [B, K, n, D].</summary>
    private (Tensor Q, Tensor K, Tensor V) Project(Tensor x, Tensor cos, Tensor sin)
    {
        long batch = x.shape[0], length = x.shape[1];
        var q = queries.forward(x).view(batch, length, heads, headWidth);
        var k = keys.forward(x).view(batch, length, keyValueHeads, headWidth);
        var v = values.forward(x).view(batch, length, keyValueHeads, headWidth);
        if (queryNorm is not null) q = queryNorm.forward(q);
        if (keyNorm is not null) k = keyNorm.forward(k);
        return (RotaryEmbedding.Rotate(q.transpose(1, 2), cos, sin), RotaryEmbedding.Rotate(k.transpose(1, 2), cos, sin), v.transpose(1, 2));
    }

    // Each key/value head repeated for the H / K query heads that read it, next to each other
    // (transformers' repeat_kv): query head j reads key/value head j / (H / K).
    private Tensor Shared(Tensor keysOrValues) =>
        heads == keyValueHeads ? keysOrValues : keysOrValues.repeat_interleave(heads / keyValueHeads, 1);

    private Tensor Merge(Tensor attended, Tensor x) =>
        output.forward(attended.transpose(1, 2).contiguous().view(x.shape[0], x.shape[1], heads * headWidth));
}

/// <summary>The SwiGLU feed-forward (Shazeer 2020): down(silu(gate(x)) · up(x)), C -> F -> C.</summary>
internal sealed class SwiGlu : NamedModule
{
    private readonly Projection gate;
    private readonly Projection up;
    private readonly Projection down;   // back into the residual stream

    public SwiGlu(LlamaConfig config, ParameterMemory memory) : base(nameof(SwiGlu))
    {
        gate = new Projection(config.Width, config.FeedForwardWidth, false, memory);
        up = new Projection(config.Width, config.FeedForwardWidth, false, memory);
        down = new Projection(config.FeedForwardWidth, config.Width, false, memory);
        register_module("gate_proj", gate);
        register_module("up_proj", up);
        register_module("down_proj", down);
    }

    public override Tensor forward(Tensor x) => down.forward(functional.silu(gate.forward(x)).mul(up.forward(x)));
}

/// <summary>One pre-norm decoder block: x + attention(norm(x)), then x + SwiGLU(norm(x)).</summary>
internal sealed class LlamaBlock : NamedModule
{
    private readonly RmsNorm attentionNorm;
    private readonly LlamaAttention attention;
    private readonly RmsNorm feedForwardNorm;
    private readonly SwiGlu feedForward;

    public LlamaBlock(LlamaConfig config, ParameterMemory memory) : base(nameof(LlamaBlock))
    {
        attentionNorm = new RmsNorm(config.Width, config.NormEpsilon, memory);
        attention = new LlamaAttention(config, memory);
        feedForwardNorm = new RmsNorm(config.Width, config.NormEpsilon, memory);
        feedForward = new SwiGlu(config, memory);
        register_module("input_layernorm", attentionNorm);
        register_module("self_attn", attention);
        register_module("post_attention_layernorm", feedForwardNorm);
        register_module("mlp", feedForward);
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("a block needs its rotation: call Run.");

    public Tensor Run(Tensor x, Tensor cos, Tensor sin)
    {
        x = x.add(attention.Attend(attentionNorm.forward(x), cos, sin), TorchScalars.One);
        return x.add(feedForward.forward(feedForwardNorm.forward(x)), TorchScalars.One);
    }

    /// <summary>The block with cached attention (see <see cref="LlamaAttention.Decode"/>).</summary>
    public Tensor Decode(Tensor x, Tensor cos, Tensor sin, Tensor keys, Tensor values, long start, Tensor mask)
    {
        x = x.add(attention.Decode(attentionNorm.forward(x), cos, sin, keys, values, start, mask), TorchScalars.One);
        return x.add(feedForward.forward(feedForwardNorm.forward(x)), TorchScalars.One);
    }
}

/// <summary>The token embedding [V, C]: a row per id.</summary>
internal sealed class TokenEmbedding : NamedModule
{
    public TokenEmbedding(long vocabulary, long width, ParameterMemory memory) : base(nameof(TokenEmbedding))
    {
        Weight = memory.NewParameter(vocabulary, width);
        register_parameter("weight", Weight);
    }

    public Parameter Weight { get; }

    public override Tensor forward(Tensor tokens)
    {
        var rows = Weight.index_select(0, tokens.reshape(-1));
        return rows.view([.. tokens.shape, Weight.shape[1]]);
    }
}

/// <summary>The decoder stack without its head: transformers' <c>LlamaModel</c>, the "model." in tensor names.</summary>
internal sealed class LlamaStack : NamedModule
{
    public LlamaStack(LlamaConfig config, ParameterMemory memory) : base(nameof(LlamaStack))
    {
        Embedding = new TokenEmbedding(config.VocabularySize, config.Width, memory);
        Blocks = ModuleList(Enumerable.Range(0, config.Layers).Select(_ => new LlamaBlock(config, memory)).ToArray());
        FinalNorm = new RmsNorm(config.Width, config.NormEpsilon, memory);
        register_module("embed_tokens", Embedding);
        register_module("layers", Blocks);
        register_module("norm", FinalNorm);
    }

    public TokenEmbedding Embedding { get; }
    public ModuleList<LlamaBlock> Blocks { get; }
    public RmsNorm FinalNorm { get; }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("call Llama.forward.");
}

/// <summary>
/// A Llama-family causal language model (transformers' <c>LlamaForCausalLM</c>, <c>MistralForCausalLM</c>,
/// <c>Qwen2ForCausalLM</c>, <c>Qwen3ForCausalLM</c>): token embedding, <see cref="LlamaConfig.Layers"/> pre-norm
/// blocks of grouped-query attention with rotary positions and a SwiGLU feed-forward, a final RMSNorm, and an
/// output head (its own matrix, or the embedding's when tied). Maps int64 token ids [B, L] to next-token
/// logits [B, L, V]. Its state dict's keys are Hugging Face's tensor names.
/// </summary>
public sealed class Llama : CausalLanguageModel
{
    private readonly LlamaStack stack;
    private readonly Projection? head;      // null when tied to the embedding
    private readonly RotaryEmbedding rotary;

    /// <summary>
    /// Builds the model with its parameters allocated but not set, in <paramref name="dtype"/> on
    /// <paramref name="device"/> (the small ones side by side: <see cref="ParameterMemory"/>): fill them from
    /// a checkpoint (<see cref="HuggingFaceCheckpoint"/>) or with <see cref="InitialiseRandomly"/>.
    /// </summary>
    public Llama(LlamaConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(Llama))
    {
        Config = config.Validate();
        device ??= CPU;
        using var memory = new ParameterMemory(dtype, device);
        stack = new LlamaStack(config, memory);
        register_module("model", stack);
        if (!config.TiedHead)
        {
            head = new Projection(config.Width, config.VocabularySize, false, memory);
            register_module("lm_head", head);
        }
        rotary = new RotaryEmbedding(config, device);
        register_module("rotary_emb", rotary);
    }

    /// <summary>The config this model was built from.</summary>
    public LlamaConfig Config { get; }

    // Submodules are registered by hand under Hugging Face's names (see NamedModule).
    protected override void RegisterComponents() { }

    /// <inheritdoc/>
    public override string Architecture => Config.Architecture;

    /// <inheritdoc/>
    public override int ContextLength => Config.ContextLength;

    /// <inheritdoc/>
    public override int VocabularySize => Config.VocabularySize;

    /// <summary>Next-token logits [B, L, V] for int64 token ids [B, L] at positions 0..L-1.</summary>
    public override Tensor forward(Tensor tokens) => Head(HiddenStates(tokens));

    /// <inheritdoc/>
    public override Tensor HiddenStates(Tensor tokens)
    {
        CheckTokens(tokens);
        var x = stack.Embedding.forward(tokens);
        using var count = tokens.shape[1].ToScalar();
        var (cos, sin) = rotary.At(arange(count, ScalarType.Int64, tokens.device), x.dtype);
        foreach (var block in stack.Blocks)
        {
            // Each block in a dispose scope of its own, only its output leaving it: a scope holds every tensor
            // made in it until it ends, so a forward kept every layer's intermediates (projections, attention
            // scores, the feed-forward's hidden layer) to the end of the caller's scope: 6 GB for 16 x 256 tokens
            // through 20 layers of width 512, and resident memory grew with every forward on jemalloc with decay
            // off (scripts/jemalloc.sh). Autograd keeps what backward needs on its own.
            using var layer = NewDisposeScope();
            x = block.Run(x, cos, sin).MoveToOuterDisposeScope();
        }
        return stack.FinalNorm.forward(x);
    }

    /// <inheritdoc/>
    public override Tensor Logits(Tensor hidden) => Head(hidden);

    /// <inheritdoc/>
    public override Tensor NextTokenLogits(Tensor tokens, Tensor positions, KeyValueCache cache, Tensor mask)
    {
        long length = tokens.shape[1];
        CheckRoom(cache, length);
        var x = stack.Embedding.forward(tokens);
        var (cos, sin) = rotary.At(positions, x.dtype);
        for (int i = 0; i < stack.Blocks.Count; i++)
        {
            using var layer = NewDisposeScope(); // as in HiddenStates
            x = stack.Blocks[i].Decode(x, cos, sin, cache.Keys[i], cache.Values[i], cache.Length, mask).MoveToOuterDisposeScope();
        }
        cache.Length += length;
        return Head(stack.FinalNorm.forward(x.select(1, -1)));
    }

    /// <inheritdoc/>
    public override KeyValueCache NewCache(long batch, long capacity)
    {
        var weight = stack.Embedding.Weight;
        return new KeyValueCache(Config.Layers, Config.KeyValueHeads, Config.HeadWidth, batch, capacity, weight.dtype, weight.device);
    }

    /// <summary>The rotary frequencies [D / 2] of <paramref name="config"/>: rope_theta^(-2i / D), stretched by its scaling.</summary>
    public static float[] RotaryFrequencies(LlamaConfig config) => RotaryEmbedding.InverseFrequencies(config);

    private Tensor Head(Tensor x) => head is null ? functional.linear(x, stack.Embedding.Weight) : head.forward(x);

    /// <summary>
    /// transformers' initialisation of a fresh model: every matrix and the embedding from N(0, <paramref name="std"/>)
    /// (initializer_range, 0.02), biases 0, norm weights 1; from torch's global generator.
    /// </summary>
    public Llama InitialiseRandomly(double std = 0.02)
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) init.ones_(parameter);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) init.zeros_(parameter);
            else init.normal_(parameter, 0, std);
        }
        return this;
    }
}
