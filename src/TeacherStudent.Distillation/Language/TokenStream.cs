using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// One split of a corpus as a single stream of token ids: every entry encoded and followed by
/// the end-of-text token (<see cref="SpecialTokens.EncodeEntries"/>). A language model
/// learns from windows of it: random ones for training (<see cref="RandomWindows"/>), consecutive
/// non-overlapping ones for evaluation (<see cref="EvaluationWindows"/>).
/// </summary>
public sealed class TokenStream
{
    private readonly int[] tokens;

    /// <summary>A stream of the given ids (kept, not copied).</summary>
    public TokenStream(int[] tokens) => this.tokens = tokens;

    /// <summary>The entries of a split, encoded one after the other, each ended by the end-of-text token.</summary>
    public static TokenStream Encode(ITokenizer tokenizer, SpecialTokens special, IEnumerable<string> entries) => new(special.EncodeEntries(tokenizer, entries));

    /// <summary>Number of tokens in the stream.</summary>
    public int Length => tokens.Length;

    /// <summary>The ids.</summary>
    public ReadOnlySpan<int> Tokens => tokens;

    /// <summary>The first <paramref name="count"/> tokens (all when there are fewer): for quick runs and tests.</summary>
    public TokenStream Take(int count) => count >= tokens.Length ? this : new TokenStream(tokens[..count]);

    /// <summary>
    /// <paramref name="count"/> windows of <paramref name="windowLength"/> consecutive tokens, each
    /// starting at a position drawn uniformly from <paramref name="random"/> (nanoGPT's get_batch),
    /// row-major in one array [count * windowLength]. A window of context length + 1 tokens gives a
    /// model its input (all but the last) and its next-token targets (all but the first).
    /// </summary>
    public int[] RandomWindows(int count, int windowLength, Random random)
    {
        CheckWindow(windowLength);
        var windows = new int[count * windowLength];
        for (int i = 0; i < count; i++)
        {
            int start = random.Next(tokens.Length - windowLength + 1);
            tokens.AsSpan(start, windowLength).CopyTo(windows.AsSpan(i * windowLength));
        }
        return windows;
    }

    /// <summary>
    /// The stream cut into windows that overlap by one token, so that every token after the first is
    /// predicted exactly once: window i is tokens [i * contextLength, (i + 1) * contextLength], that is
    /// contextLength + 1 tokens (contextLength inputs and their next tokens). The last window is
    /// shorter when the stream does not divide evenly. At most <paramref name="maxWindows"/> (0 = all).
    /// </summary>
    public IEnumerable<ArraySegment<int>> EvaluationWindows(int contextLength, int maxWindows = 0)
    {
        if (contextLength < 1) throw new ArgumentException($"the context length must be at least 1, not {contextLength}.");
        int made = 0;
        for (int start = 0; start + 1 < tokens.Length && (maxWindows == 0 || made < maxWindows); start += contextLength, made++)
            yield return new ArraySegment<int>(tokens, start, Math.Min(contextLength + 1, tokens.Length - start));
    }

    private void CheckWindow(int windowLength)
    {
        if (windowLength < 2)
            throw new ArgumentException($"a window needs at least 2 tokens (an input and its next token), not {windowLength}.");
        if (windowLength > tokens.Length)
            throw new ArgumentException($"a window of {windowLength} tokens does not fit in a stream of {tokens.Length}.");
    }
}
