using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Language;

/// <summary>How text is sampled from a language model.</summary>
/// <param name="Temperature">Logits are divided by this before sampling; 0 picks the most likely token.</param>
/// <param name="TopP">Nucleus sampling: only the most likely tokens that together hold this much probability are kept (1 = all).</param>
/// <param name="MaxNewTokens">Most tokens to generate.</param>
public sealed record SamplingSettings(double Temperature = 1, double TopP = 1, int MaxNewTokens = 64)
{
    /// <summary>This, or an <see cref="ArgumentException"/> that says which value is out of range.</summary>
    public SamplingSettings Validate()
    {
        if (!(Temperature >= 0 && double.IsFinite(Temperature))) throw new ArgumentException($"the sampling temperature must be finite and 0 or more, not {Temperature}.");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"top-p must be in (0, 1], not {TopP}.");
        if (MaxNewTokens < 0) throw new ArgumentException($"max new tokens must be 0 or more, not {MaxNewTokens}.");
        return this;
    }
}

/// <summary>
/// Draws tokens from a language model: the next token of a batch of sequences
/// (<see cref="Next"/>, which on-policy training uses for its continuations), or a whole
/// continuation of a prompt that stops at an end-of-sequence token (<see cref="Complete"/>, for reports).
/// </summary>
public static class TokenSampler
{
    /// <summary>
    /// One token per row of <paramref name="logits"/> [B, V] (already cut to the tokenizer's vocabulary),
    /// drawn at <paramref name="temperature"/> with nucleus <paramref name="topP"/> from
    /// <paramref name="generator"/>: int64 [B]. Call inside a dispose scope.
    /// </summary>
    public static Tensor Next(Tensor logits, double temperature, double topP, Generator? generator)
    {
        if (temperature == 0) return logits.argmax(-1);
        if (temperature != 1)
        {
            using var t = temperature.ToScalar();
            logits = logits.div(t);
        }
        var probabilities = nn.functional.softmax(logits, -1);
        if (topP < 1)
        {
            var (sorted, order) = probabilities.sort(-1, descending: true);
            // A token stays when the mass of the tokens before it is below top-p: the most likely always stays.
            var before = sorted.cumsum(-1) - sorted;
            using var p = topP.ToScalar();
            var kept = sorted.masked_fill(before.ge(p), TorchScalars.Zero);
            probabilities = zeros_like(probabilities).scatter(-1, order, kept);
        }
        return probabilities.multinomial(1, generator: generator).squeeze(-1);
    }

    /// <summary>
    /// Continues <paramref name="prompt"/> (ids, at least one) with up to <see cref="SamplingSettings.MaxNewTokens"/>
    /// tokens, stopping after one of <paramref name="endOfSequence"/>; returns the new tokens only. A
    /// context longer than the model's is cut to its last tokens. The model runs in eval mode, without gradients.
    /// </summary>
    public static int[] Generate(CausalLanguageModel model, int vocabularySize, IReadOnlyCollection<int> endOfSequence, ReadOnlySpan<int> prompt,
        SamplingSettings settings, Generator? generator = null)
    {
        settings.Validate();
        if (prompt.Length == 0) throw new ArgumentException("a prompt needs at least one token.");
        var device = model.parameters().First().device;
        var context = new List<int>(prompt.ToArray());
        var generated = new List<int>();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            while (generated.Count < settings.MaxNewTokens)
            {
                using var scope = NewDisposeScope();
                int start = Math.Max(0, context.Count - model.ContextLength);
                var input = tensor(context.Skip(start).Select(t => (long)t).ToArray(), [1, context.Count - start], device: device);
                var last = model.forward(input).select(1, -1).narrow(-1, 0, vocabularySize);
                int token = (int)Next(last.cpu(), settings.Temperature, settings.TopP, generator).item<long>();
                generated.Add(token);
                context.Add(token);
                if (endOfSequence.Contains(token)) break;
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return [.. generated];
    }

    /// <summary>
    /// The text a model writes after <paramref name="prompt"/> as the start of a new text (encoded as the
    /// tokenizer encodes a text, with the bos it adds), drawn from <paramref name="seed"/>; the prompt is not
    /// repeated and a final end-of-sequence is left out.
    /// </summary>
    public static string Complete(CausalLanguageModel model, ITokenizer tokenizer, SpecialTokens special, string prompt, SamplingSettings settings, long seed)
    {
        using var generator = new Generator((ulong)seed);
        var ids = tokenizer.Encode(prompt);
        // A text the tokenizer gives no ids starts from the bos, else from an end of a text.
        if (ids.Length == 0) ids = special.BeginOfSequence is { } bos ? [bos] : special.EndOfSequence.Count > 0 ? [special.EndOfSequence[0]] : ids;
        var generated = Generate(model, tokenizer.VocabularySize, special.EndOfSequence, ids, settings, generator);
        if (generated.Length > 0 && special.EndOfSequence.Contains(generated[^1])) generated = generated[..^1];
        return tokenizer.Decode(generated);
    }
}
