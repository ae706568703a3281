namespace TeacherStudent.Distillation.Models;

/// <summary>
/// The shape of a <see cref="Gpt"/> decoder: everything needed to build one afresh.
/// </summary>
/// <param name="VocabularySize">Number of token ids, V; the logits are [B, L, V].</param>
/// <param name="ContextLength">Longest sequence the model reads (the number of learned positions).</param>
/// <param name="Layers">Number of transformer blocks.</param>
/// <param name="Width">Size of the residual stream (the embedding dimension), C.</param>
/// <param name="Heads">Attention heads per block; must divide <paramref name="Width"/>.</param>
/// <param name="Dropout">Dropout on embeddings, attention weights and residual branches while training.</param>
public sealed record GptSpec(int VocabularySize, int ContextLength, int Layers, int Width, int Heads, double Dropout = 0.0)
{
    /// <summary>This spec, or an <see cref="ArgumentException"/> that says which value is out of range.</summary>
    public GptSpec Validate()
    {
        if (VocabularySize < 1) throw new ArgumentException($"vocabulary size must be at least 1, not {VocabularySize}.");
        if (ContextLength < 1) throw new ArgumentException($"context length must be at least 1, not {ContextLength}.");
        if (Layers < 1) throw new ArgumentException($"a GPT needs at least 1 layer, not {Layers}.");
        if (Heads < 1 || Width < 1 || Width % Heads != 0)
            throw new ArgumentException($"width ({Width}) must be a positive multiple of the number of heads ({Heads}).");
        if (!(Dropout is >= 0 and < 1)) throw new ArgumentException($"dropout must be in [0, 1), not {Dropout}.");
        return this;
    }
}
