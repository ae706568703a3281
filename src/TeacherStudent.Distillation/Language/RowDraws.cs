namespace TeacherStudent.Distillation.Language;

/// <summary>
/// One generated row's tokens, budget and generator: each row is drawn from its own SplitMix64,
/// seeded by <see cref="GenerationRow.Seed"/>, by inverse-CDF sampling on the CPU, so its draws
/// depend on its seed and its own logits only, never on the rows it is batched with.
/// </summary>
internal sealed class RowDraws
{
    private readonly GenerationRow row;
    private readonly List<int> tokens = [];
    private readonly IReadOnlySet<int> endOfSequence;
    private double[] probabilities = [];
    private ulong random;

    public RowDraws(GenerationRow row, int promptLength, int context, IReadOnlySet<int> endOfSequence)
    {
        this.row = row;
        this.endOfSequence = endOfSequence;
        PromptLength = promptLength;
        // Positions run up to context - 1: the last token written may sit there, and is not read back.
        Budget = Math.Min(row.MaxNewTokens, context - promptLength);
        random = row.Seed;
        LastPosition = promptLength - 1;
    }

    public int PromptLength { get; }

    /// <summary>Most tokens the row may write.</summary>
    public int Budget { get; }

    /// <summary>Draws the row may still make: an upper bound on the key-value columns it still writes.</summary>
    public int Remaining => Budget - Drawn;

    public int LastToken { get; private set; }
    public int LastPosition { get; private set; }
    private int Drawn => LastPosition - (PromptLength - 1);

    public GenerationResult Result(GenerationEnd end) => new([.. tokens], end, PromptLength);

    /// <summary>Adds a token; the reason the row ends with it, or null when it goes on.</summary>
    public GenerationEnd? Append(int token, Func<IReadOnlyList<int>, bool>? stop)
    {
        LastToken = token;
        LastPosition++;
        if (endOfSequence.Contains(token)) return GenerationEnd.EndOfText;
        tokens.Add(token);
        if (stop is not null && stop(tokens)) return GenerationEnd.Stopped;
        return tokens.Count >= Budget ? GenerationEnd.Length : null;
    }

    /// <summary>The next token from <paramref name="logits"/> [V], as the row's settings and generator say.</summary>
    public int Draw(ReadOnlySpan<float> logits)
    {
        if (row.Temperature == 0) return ArgMax(logits);
        if (probabilities.Length != logits.Length) probabilities = new double[logits.Length];
        var p = probabilities;
        double max = double.NegativeInfinity;
        foreach (var l in logits) max = Math.Max(max, l);
        double total = 0;
        for (int v = 0; v < logits.Length; v++) total += p[v] = Math.Exp((logits[v] - max) / row.Temperature);
        double u = NextUniform();
        if (row.TopP >= 1) return InverseCdf(p, Enumerable.Range(0, p.Length), u * total);

        // The most likely tokens whose mass before them is below top-p (the most likely always stays).
        var byProbability = Enumerable.Range(0, p.Length).OrderByDescending(v => p[v]).ThenBy(v => v).ToArray();
        double kept = 0;
        int count = 0;
        while (count < byProbability.Length && kept < row.TopP * total) kept += p[byProbability[count++]];
        return InverseCdf(p, byProbability.Take(count), u * kept);
    }

    private static int InverseCdf(double[] p, IEnumerable<int> tokens, double target)
    {
        double sum = 0;
        int last = -1;
        foreach (var v in tokens)
        {
            if (p[v] == 0) continue;
            sum += p[v];
            last = v;
            if (sum > target) return v;
        }
        return last;  // rounding left the target at the very end
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[best]) best = v;
        return best;
    }

    // SplitMix64: a tiny generator whose whole state is one number, so a row's draws are its own.
    private double NextUniform()
    {
        ulong z = random += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
