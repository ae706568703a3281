using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TeacherStudent.Distillation.Models;

// A GPT-2 style decoder in the manner of nanoGPT: the small classes in the order a token meets
// them, the whole model at the end. Shapes: B batch, L sequence length, C width, H heads, V vocabulary.

/// <summary>
/// Multi-head self-attention in which each position sees only itself and the positions before it.
/// </summary>
internal sealed class CausalSelfAttention : Module<Tensor, Tensor>
{
    private readonly Linear queryKeyValue;  // C -> 3C: the three projections in one matmul
    private readonly Linear projection;     // C -> C, back into the residual stream
    private readonly Dropout residualDropout;
    private readonly int heads;
    private readonly double attentionDropout;

    public CausalSelfAttention(GptSpec spec) : base(nameof(CausalSelfAttention))
    {
        queryKeyValue = Linear(spec.Width, 3 * spec.Width);
        projection = Linear(spec.Width, spec.Width);
        residualDropout = Dropout(spec.Dropout);
        heads = spec.Heads;
        attentionDropout = spec.Dropout;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        long batch = x.shape[0], length = x.shape[1], width = x.shape[2];
        var qkv = queryKeyValue.forward(x).split(width, 2);
        var (q, k, v) = (SplitHeads(qkv[0]), SplitHeads(qkv[1]), SplitHeads(qkv[2]));

        // The fused kernel applies the causal mask itself, so no [L, L] mask buffer is kept. Its
        // dropout is applied whenever p > 0, so it is asked for only while training.
        var attended = functional.scaled_dot_product_attention(q, k, v, p: training ? attentionDropout : 0, is_casual: true);

        var merged = attended.transpose(1, 2).contiguous().view(batch, length, width);
        return residualDropout.forward(projection.forward(merged));
    }

    /// <summary>
    /// Decoding with a cache: the keys and values of <paramref name="x"/> [B, n, C] are written to
    /// columns start..start+n of <paramref name="keys"/> and <paramref name="values"/> [B, H, capacity, C / H],
    /// and its queries attend over columns 0..start+n where <paramref name="mask"/> [B, 1, n, start+n] is true.
    /// </summary>
    internal Tensor Decode(Tensor x, Tensor keys, Tensor values, long start, Tensor mask)
    {
        long batch = x.shape[0], length = x.shape[1], width = x.shape[2];
        var qkv = queryKeyValue.forward(x).split(width, 2);
        keys.narrow(2, start, length).copy_(SplitHeads(qkv[1]));
        values.narrow(2, start, length).copy_(SplitHeads(qkv[2]));
        long seen = start + length;
        var attended = functional.scaled_dot_product_attention(SplitHeads(qkv[0]), keys.narrow(2, 0, seen), values.narrow(2, 0, seen), mask);
        var merged = attended.transpose(1, 2).contiguous().view(batch, length, width);
        return projection.forward(merged);
    }

    /// <summary>[B, L, C] -> [B, H, L, C / H].</summary>
    private Tensor SplitHeads(Tensor x) => x.view(x.shape[0], x.shape[1], heads, x.shape[2] / heads).transpose(1, 2);
}

/// <summary>The position-wise feed-forward network: C -> 4C, GELU, 4C -> C.</summary>
internal sealed class FeedForward : Module<Tensor, Tensor>
{
    private readonly Linear expansion;
    private readonly GELU gelu;
    private readonly Linear projection;     // back into the residual stream
    private readonly Dropout residualDropout;

    public FeedForward(GptSpec spec) : base(nameof(FeedForward))
    {
        expansion = Linear(spec.Width, 4 * spec.Width);
        gelu = GELU();
        projection = Linear(4 * spec.Width, spec.Width);
        residualDropout = Dropout(spec.Dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) =>
        residualDropout.forward(projection.forward(gelu.forward(expansion.forward(x))));
}

/// <summary>
/// One pre-norm transformer block: x + attention(norm(x)), then x + feed-forward(norm(x)).
/// Normalising the input of each branch, not the residual stream, keeps deep stacks trainable.
/// </summary>
internal sealed class GptBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm attentionNorm;
    private readonly CausalSelfAttention attention;
    private readonly LayerNorm feedForwardNorm;
    private readonly FeedForward feedForward;

    public GptBlock(GptSpec spec) : base(nameof(GptBlock))
    {
        attentionNorm = LayerNorm(spec.Width);
        attention = new CausalSelfAttention(spec);
        feedForwardNorm = LayerNorm(spec.Width);
        feedForward = new FeedForward(spec);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        // add with a held alpha: "+" passes an implicit Scalar 1 (see TorchScalars).
        x = x.add(attention.forward(attentionNorm.forward(x)), TorchScalars.One);
        return x.add(feedForward.forward(feedForwardNorm.forward(x)), TorchScalars.One);
    }

    /// <summary>The block with cached attention (see <see cref="CausalSelfAttention.Decode"/>).</summary>
    internal Tensor Decode(Tensor x, Tensor keys, Tensor values, long start, Tensor mask)
    {
        x = x.add(attention.Decode(attentionNorm.forward(x), keys, values, start, mask), TorchScalars.One);
        return x.add(feedForward.forward(feedForwardNorm.forward(x)), TorchScalars.One);
    }
}

/// <summary>
/// A GPT-style causal language model (Radford et al. 2019; after karpathy/nanoGPT): token and
/// learned position embeddings, <see cref="GptSpec.Layers"/> pre-norm blocks of causal
/// self-attention and a 4x GELU MLP, a final LayerNorm, and an output head that reuses the token
/// embedding matrix (weight tying), so the vocabulary costs V x C parameters once.
/// Maps int64 token ids [B, L] (L up to the context length) to next-token logits [B, L, V]:
/// the logits at position t depend on tokens 0..t only.
/// Saved and loaded with TorchSharp's <c>save</c>/<c>load</c>; the state dict holds weights only.
/// </summary>
public sealed class Gpt : CausalLanguageModel
{
    /// <summary>The architecture's name in reports and Describe.</summary>
    public const string ArchitectureName = "gpt";

    /// <summary>Standard deviation of the GPT-2 initialisation.</summary>
    private const double InitStd = 0.02;

    private readonly Embedding tokenEmbedding;     // [V, C], also the output head
    private readonly Embedding positionEmbedding;  // [context length, C]
    private readonly Dropout embeddingDropout;
    private readonly ModuleList<GptBlock> blocks;
    private readonly LayerNorm finalNorm;
    private readonly Tensor positions;             // 0..context-1, a buffer so it follows the model's device

    /// <summary>The spec this model was built from.</summary>
    public GptSpec Spec { get; }

    /// <summary>Builds a randomly initialised model (GPT-2 initialisation, from torch's global generator).</summary>
    public Gpt(GptSpec spec) : base(nameof(Gpt))
    {
        Spec = spec.Validate();
        tokenEmbedding = Embedding(spec.VocabularySize, spec.Width);
        positionEmbedding = Embedding(spec.ContextLength, spec.Width);
        embeddingDropout = Dropout(spec.Dropout);
        blocks = ModuleList(Enumerable.Range(0, spec.Layers).Select(_ => new GptBlock(spec)).ToArray());
        finalNorm = LayerNorm(spec.Width);
        using (var contextLength = spec.ContextLength.ToScalar())
            positions = arange(contextLength, ScalarType.Int64);
        register_buffer(nameof(positions), positions, persistent: false);
        RegisterComponents();
        InitialiseLikeGpt2();
    }

    /// <inheritdoc/>
    public override string Architecture => ArchitectureName;

    /// <inheritdoc/>
    public override int ContextLength => Spec.ContextLength;

    /// <inheritdoc/>
    public override int VocabularySize => Spec.VocabularySize;

    /// <summary>Next-token logits [B, L, V] for int64 token ids [B, L].</summary>
    public override Tensor forward(Tensor tokens)
    {
        CheckTokens(tokens);
        long length = tokens.shape[1];

        var x = tokenEmbedding.forward(tokens).add(positionEmbedding.forward(positions.narrow(0, 0, length)), TorchScalars.One);
        x = embeddingDropout.forward(x);
        foreach (var block in blocks) x = block.forward(x);
        return functional.linear(finalNorm.forward(x), tokenEmbedding.weight!);  // the tied head
    }

    /// <inheritdoc/>
    public override Tensor NextTokenLogits(Tensor tokens, Tensor positions, KeyValueCache cache, Tensor mask)
    {
        long length = tokens.shape[1];
        CheckRoom(cache, length);
        var x = tokenEmbedding.forward(tokens).add(positionEmbedding.forward(positions), TorchScalars.One);
        for (int i = 0; i < blocks.Count; i++) x = blocks[i].Decode(x, cache.Keys[i], cache.Values[i], cache.Length, mask);
        cache.Length += length;
        return functional.linear(finalNorm.forward(x.select(1, -1)), tokenEmbedding.weight!);
    }

    /// <inheritdoc/>
    public override KeyValueCache NewCache(long batch, long capacity)
    {
        var weight = tokenEmbedding.weight!;
        return new KeyValueCache(Spec.Layers, Spec.Heads, Spec.Width / Spec.Heads, batch, capacity, weight.dtype, weight.device);
    }

    /// <summary>
    /// GPT-2's initialisation: weights of linear layers and embeddings from N(0, 0.02), biases 0,
    /// LayerNorm 1 and 0 (its default). The two projections that write into the residual stream
    /// get 0.02 / sqrt(2 * layers), so the stream's variance does not grow with depth.
    /// </summary>
    private void InitialiseLikeGpt2()
    {
        double residualStd = InitStd / Math.Sqrt(2.0 * Spec.Layers);
        using var noGrad = no_grad();
        foreach (var (name, module) in named_modules())
        {
            switch (module)
            {
                case Linear linear:
                    init.normal_(linear.weight!, 0, name.EndsWith("projection", StringComparison.Ordinal) ? residualStd : InitStd);
                    if (linear.bias is { } bias) init.zeros_(bias);
                    break;
                case Embedding embedding:
                    init.normal_(embedding.weight!, 0, InitStd);
                    break;
            }
        }
    }
}
