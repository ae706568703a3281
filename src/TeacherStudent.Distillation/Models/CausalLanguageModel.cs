using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// A decoder that maps int64 token ids [B, L] to next-token logits [B, L, V] (the logits at
/// position t depend on tokens 0..t only) and decodes with a <see cref="KeyValueCache"/>: what the
/// serving, generation and training code needs of a language model, whichever decoder it is.
/// </summary>
public abstract class CausalLanguageModel(string name) : Module<Tensor, Tensor>(name)
{
    /// <summary>The architecture's name in reports and Describe.</summary>
    public abstract string Architecture { get; }

    /// <summary>Longest sequence the model reads.</summary>
    public abstract int ContextLength { get; }

    /// <summary>Rows of the output head: the logits' last dimension (may exceed the tokenizer's tokens).</summary>
    public abstract int VocabularySize { get; }

    /// <summary>
    /// The final hidden states [B, L, W] of int64 token ids [B, L], before the output head:
    /// <c>forward</c> is <see cref="Logits"/> of these. Apart, so that the head (the largest
    /// activation for a big vocabulary) can run over a long batch a few rows at a time.
    /// </summary>
    public abstract Tensor HiddenStates(Tensor tokens);

    /// <summary>The output head: logits [..., V] of hidden states [..., W].</summary>
    public abstract Tensor Logits(Tensor hidden);

    /// <summary>
    /// Next-token logits [B, V] after the last of <paramref name="tokens"/> [B, n] (int64), reading
    /// and extending <paramref name="cache"/>: the keys and values of these tokens go into columns
    /// <see cref="KeyValueCache.Length"/>..+n, <paramref name="positions"/> [B, n] are their positions
    /// (rows of different lengths are left-padded), and <paramref name="mask"/> [B, 1, n, Length + n]
    /// says which cached columns each token sees (causal, padding left out). For generation: call in
    /// eval mode under no_grad. With no padding it gives what <c>forward</c> gives at the last position.
    /// </summary>
    public abstract Tensor NextTokenLogits(Tensor tokens, Tensor positions, KeyValueCache cache, Tensor mask);

    /// <summary>An empty cache for <paramref name="batch"/> sequences of up to <paramref name="capacity"/> tokens each, on this model's device.</summary>
    public abstract KeyValueCache NewCache(long batch, long capacity);

    /// <summary>Number of trainable values; a tied head is counted once, with the embedding.</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());

    /// <summary>The checks every decoder makes of a [B, L] batch of token ids.</summary>
    protected void CheckTokens(Tensor tokens)
    {
        if (tokens.dim() != 2)
            throw new ArgumentException($"token ids must be [batch, length], not [{string.Join(", ", tokens.shape)}].");
        if (tokens.shape[1] > ContextLength)
            throw new ArgumentException($"a sequence of {tokens.shape[1]} tokens is longer than the context of {ContextLength}.");
    }

    /// <summary>The check every decoder makes before writing <paramref name="length"/> more tokens into <paramref name="cache"/>.</summary>
    protected static void CheckRoom(KeyValueCache cache, long length)
    {
        if (cache.Length + length > cache.Capacity)
            throw new ArgumentException($"{length} more tokens do not fit a cache of {cache.Capacity} holding {cache.Length}.");
    }
}
