using TeacherStudent.Distillation.Models;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// One sequence to continue: its prompt (token ids, at least one; see <see cref="LanguageModel.Prompt"/>)
/// and how its tokens are drawn.
/// </summary>
/// <param name="Prompt">The ids to continue; a prompt that leaves no room in the context keeps its last tokens.</param>
/// <param name="Temperature">Logits are divided by this; 0 takes the most likely token.</param>
/// <param name="TopP">Nucleus sampling: draws only from the most likely tokens holding this much probability, in (0, 1].</param>
/// <param name="MaxNewTokens">Most tokens to write.</param>
/// <param name="Seed">Fixes the row's draws: they depend on this and the row's own tokens only, never on the other rows.</param>
public sealed record GenerationRow(int[] Prompt, double Temperature, double TopP, int MaxNewTokens, ulong Seed);

/// <summary>Why a generated row ended.</summary>
public enum GenerationEnd
{
    /// <summary>The model wrote one of its end-of-sequence ids (left out of the tokens).</summary>
    EndOfText,
    /// <summary>The caller's stop test said so (a stop sequence).</summary>
    Stopped,
    /// <summary>The row wrote its most tokens, or reached the model's context.</summary>
    Length,
}

/// <summary>What one row wrote.</summary>
/// <param name="Tokens">The new tokens, without a final end-of-text.</param>
/// <param name="End">Why it ended.</param>
/// <param name="PromptTokens">Prompt tokens the model read (after a too long prompt was cut).</param>
public sealed record GenerationResult(int[] Tokens, GenerationEnd End, int PromptTokens)
{
    /// <summary>Tokens the model wrote, counting an end-of-text it wrote.</summary>
    public int CompletionTokens => Tokens.Length + (End == GenerationEnd.EndOfText ? 1 : 0);
}

/// <summary>
/// Continues many prompts at once with a <see cref="KeyValueCache"/>: the prompts (left-padded to
/// the longest) are read in one forward, then every step writes one token per unfinished row at
/// the cost of one position. Rows that continue the same prompt share its reading: it is read once.
/// Rows that are done leave the batch. Each row is drawn from its own
/// generator, seeded by <see cref="GenerationRow.Seed"/>, by inverse-CDF sampling on the CPU, so
/// its text does not depend on which rows it was batched with (up to float rounding of the logits).
/// All rows start together; <see cref="ContinuousBatch"/>, which this runs, also lets rows join later.
/// </summary>
public static class BatchGenerator
{
    /// <summary>
    /// What each row writes. <paramref name="stop"/>, when given, is asked after every token with
    /// the row's index and its tokens so far, and ends the row when it says so. The model runs in
    /// eval mode without gradients; synchronous, one thread.
    /// </summary>
    public static GenerationResult[] Generate(LanguageModel language, IReadOnlyList<GenerationRow> rows,
        Func<int, IReadOnlyList<int>, bool>? stop = null, CancellationToken cancellationToken = default) =>
        Generate(language.Model, language.VocabularySize, language.Special.EndOfSequence, rows, stop, cancellationToken);

    /// <summary>
    /// What each row of <paramref name="model"/> writes, drawn from its first <paramref name="vocabularySize"/>
    /// logits, a row ending when it writes one of <paramref name="endOfSequence"/>; otherwise as above.
    /// </summary>
    public static GenerationResult[] Generate(CausalLanguageModel model, int vocabularySize, IReadOnlyCollection<int> endOfSequence,
        IReadOnlyList<GenerationRow> rows, Func<int, IReadOnlyList<int>, bool>? stop = null, CancellationToken cancellationToken = default)
    {
        if (rows.Count == 0) return [];
        var batched = rows.Select((row, i) => new BatchRow(row, stop is null ? null : tokens => stop(i, tokens))).ToArray();
        using var batch = new ContinuousBatch(model, vocabularySize, endOfSequence);
        batch.Admit(batched);
        while (batch.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            batch.Draw();
            batch.Forward();
        }
        return batched.Select(r => r.Result!).ToArray();
    }
}
