using TeacherStudent.Distillation.Models;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Language;

/// <summary>What a language model scored on a stream of held-out text.</summary>
/// <param name="Loss">Mean next-token cross-entropy in nats, over the tokenizer's vocabulary.</param>
/// <param name="Tokens">Tokens predicted.</param>
/// <param name="Bytes">Bytes of text those tokens spell (0 when not counted).</param>
public readonly record struct PerplexityResult(double Loss, long Tokens, long Bytes = 0)
{
    /// <summary>exp(<see cref="Loss"/>): the number of equally likely tokens the model is as unsure as.</summary>
    public double Perplexity => Math.Exp(Loss);

    /// <summary>
    /// The whole text's cross-entropy in bits over its bytes: comparable between models whose tokenizers
    /// cut the same text into different tokens, which token perplexities are not. NaN when bytes were not counted.
    /// </summary>
    public double BitsPerByte => Bytes > 0 ? Loss * Tokens / (Math.Log(2) * Bytes) : double.NaN;
}

/// <summary>
/// Perplexity of a language model on held-out text: exp of the mean next-token cross-entropy over
/// <see cref="TokenStream.EvaluationWindows"/> (non-overlapping windows of the context length, so each
/// token is predicted once, from the tokens before it in its window).
/// </summary>
public static class Perplexity
{
    /// <summary>Windows per forward pass.</summary>
    public const int DefaultBatchSize = 32;

    /// <summary>
    /// Runs <paramref name="model"/> without gradients, in eval mode (restored after), over
    /// <paramref name="stream"/>: at most <paramref name="maxWindows"/> windows (0 = all).
    /// </summary>
    /// <param name="vocabularySize">The tokenizer's vocabulary: a padded output is cut back to it.</param>
    /// <param name="contextLength">Tokens per window; the model's context when not given.</param>
    /// <param name="tokenBytes">Bytes of text each id spells, to count the bytes predicted (<see cref="PerplexityResult.BitsPerByte"/>); null counts none.</param>
    public static PerplexityResult Evaluate(CausalLanguageModel model, int vocabularySize, TokenStream stream, int maxWindows = 0, int batchSize = DefaultBatchSize,
        int? contextLength = null, IReadOnlyList<int>? tokenBytes = null)
    {
        int context = Math.Min(contextLength ?? model.ContextLength, model.ContextLength);
        var device = model.parameters().First().device;
        bool wasTraining = model.training;
        model.eval();
        double lossSum = 0;
        long tokens = 0, bytes = 0;
        try
        {
            using var _ = no_grad();
            // Full windows go in batches; a shorter last window goes alone.
            foreach (var group in stream.EvaluationWindows(context, maxWindows).GroupBy(w => w.Count).SelectMany(g => g.Chunk(batchSize)))
            {
                using var scope = NewDisposeScope();
                int length = group[0].Count;
                var flat = new long[group.Length * length];
                for (int i = 0; i < group.Length; i++)
                    for (int j = 0; j < length; j++) flat[i * length + j] = group[i][j];
                var windows = tensor(flat, [group.Length, length], device: device);
                var inputs = windows.narrow(1, 0, length - 1);
                var next = windows.narrow(1, 1, length - 1).reshape(-1);
                var logits = model.forward(inputs);
                if (logits.shape[2] > vocabularySize) logits = logits.narrow(2, 0, vocabularySize);
                lossSum += nn.functional.cross_entropy(logits.reshape(-1, vocabularySize), next, reduction: nn.Reduction.Sum).item<float>();
                tokens += next.shape[0];
                if (tokenBytes is not null)
                    foreach (var window in group)
                        for (int j = 1; j < length; j++) bytes += tokenBytes[window[j]];
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        if (tokens == 0) throw new ArgumentException("the evaluation stream has fewer than 2 tokens: nothing to predict.");
        return new PerplexityResult(lossSum / tokens, tokens, bytes);
    }
}
