using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// Texts as a language-model teacher reads them: each tokenized by the teacher's own tokenizer, cut to
/// its context, and padded to the longest, with the bytes of each text's UTF-8 every token covers.
/// Row-major [<see cref="Sequences"/>, <see cref="Length"/>]; a row's tokens past its
/// <see cref="Lengths"/> are padding (the pad id given, span 0..0), whose targets mean nothing.
/// </summary>
public sealed record TokenizedTexts(int Sequences, int Length, int[] Ids, int[] Lengths, int[] Starts, int[] Ends)
{
    /// <summary>
    /// Tokenizes <paramref name="texts"/> with <paramref name="tokenizer"/> (special tokens written in a text become
    /// theirs, as Hugging Face does), keeping at most <paramref name="contextLength"/> tokens of each: the spans say
    /// which bytes were scored. Fails with one sentence when the tokenizer cannot give byte spans.
    /// </summary>
    public static TokenizedTexts Of(HuggingFaceTokenizer tokenizer, IReadOnlyList<string> texts, int contextLength, int padId)
    {
        if (texts.Count == 0) throw new ArgumentException("there are no texts to tokenize.", nameof(texts));
        var spans = texts.Select(tokenizer.EncodeWithSpans).ToArray();
        var lengths = spans.Select(s => Math.Min(s.Ids.Length, contextLength)).ToArray();
        var length = Math.Max(1, lengths.Max());
        var ids = new int[texts.Count * length];
        var starts = new int[ids.Length];
        var ends = new int[ids.Length];
        Array.Fill(ids, padId);
        for (var b = 0; b < texts.Count; b++)
        {
            spans[b].Ids.AsSpan(0, lengths[b]).CopyTo(ids.AsSpan(b * length));
            spans[b].Starts.AsSpan(0, lengths[b]).CopyTo(starts.AsSpan(b * length));
            spans[b].Ends.AsSpan(0, lengths[b]).CopyTo(ends.AsSpan(b * length));
        }
        return new TokenizedTexts(texts.Count, length, ids, lengths, starts, ends);
    }

    /// <summary>The id padding fills rows with: the model's pad token, else its end-of-sequence token, else 0.</summary>
    public static int PadIdOf(Models.SpecialTokens special) => special.Padding ?? (special.EndOfSequence.Count > 0 ? special.EndOfSequence[0] : 0);

    /// <summary>The byte starts of sequence <paramref name="index"/>'s tokens.</summary>
    public ReadOnlySpan<int> StartsOf(int index) => Starts.AsSpan(index * Length, Length);

    /// <summary>The byte ends of sequence <paramref name="index"/>'s tokens.</summary>
    public ReadOnlySpan<int> EndsOf(int index) => Ends.AsSpan(index * Length, Length);
}
