using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using static TorchSharp.torch;

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
        int context = model.ContextLength;
        if (context < 2) throw new ArgumentException("a model with a context of one token cannot continue a prompt.");
        foreach (var row in rows)
        {
            if (row.Prompt.Length == 0) throw new ArgumentException("a prompt needs at least one token.");
            new SamplingSettings(row.Temperature, row.TopP, row.MaxNewTokens).Validate();
        }

        // A prompt keeps its last context - 1 tokens, so that at least one token can be written.
        var ends = endOfSequence.ToHashSet();
        var prompts = rows.Select(r => r.Prompt.Length < context ? r.Prompt : r.Prompt[^(context - 1)..]).ToArray();
        var states = rows.Select((r, i) => new RowState(i, r, prompts[i].Length, context, ends)).ToArray();
        var results = new GenerationResult?[rows.Count];
        foreach (var state in states.Where(s => s.Budget == 0)) results[state.Index] = state.Result(GenerationEnd.Length);
        var active = states.Where(s => s.Budget > 0).ToList();
        if (active.Count == 0) return results.Select(r => r!).ToArray();

        int promptLength = active.Max(s => s.PromptLength);
        int capacity = promptLength + active.Max(s => s.Budget);
        var device = model.parameters().First().device;
        bool wasTraining = model.training;
        model.eval();
        using var noGrad = no_grad();
        // Rows that continue the same prompt (samples of one question, n > 1) share it: each distinct prompt is
        // read once, and its keys and values are then copied to every row that continues it.
        var (distinct, shared) = Distinct(active, prompts);
        using var cache = model.NewCache(distinct.Count, capacity);
        // Which prompt columns hold a real token, per row still in the cache (padding is on the left).
        using var promptValid = PromptValidity(distinct, promptLength, device);
        try
        {
            var nextLogits = Prefill(model, distinct, prompts, promptLength, promptValid, cache, vocabularySize, device);
            if (distinct.Count < active.Count)
            {
                using var copies = tensor(shared, device: device);
                cache.Keep(copies);
                promptValid.Keep(copies);
                var each = new float[active.Count * vocabularySize];
                for (int r = 0; r < active.Count; r++) Array.Copy(nextLogits, shared[r] * vocabularySize, each, r * vocabularySize, vocabularySize);
                nextLogits = each;
            }
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var kept = new List<long>();
                for (int r = 0; r < active.Count; r++)
                {
                    var state = active[r];
                    int token = state.Draw(new ReadOnlySpan<float>(nextLogits, r * vocabularySize, vocabularySize));
                    var end = state.Append(token, stop);
                    if (end is { } ended) results[state.Index] = state.Result(ended);
                    else kept.Add(r);
                }
                if (kept.Count == 0) break;
                if (kept.Count < active.Count)
                {
                    using var keep = tensor(kept.ToArray(), device: device);
                    cache.Keep(keep);
                    promptValid.Keep(keep);
                    active = kept.Select(r => active[(int)r]).ToList();
                }
                nextLogits = Step(model, active, promptValid.Current, cache, vocabularySize, device);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return results.Select(r => r!).ToArray();
    }

    // The rows with distinct prompts (the first of each), and for every row the position of its prompt among them.
    private static (List<RowState> Distinct, long[] Shared) Distinct(List<RowState> active, int[][] prompts)
    {
        var distinct = new List<RowState>();
        var shared = new long[active.Count];
        var seen = new Dictionary<int[], int>(PromptComparer.Instance);
        for (int r = 0; r < active.Count; r++)
        {
            var prompt = prompts[active[r].Index];
            if (!seen.TryGetValue(prompt, out var at))
            {
                seen[prompt] = at = distinct.Count;
                distinct.Add(active[r]);
            }
            shared[r] = at;
        }
        return (distinct, shared);
    }

    private sealed class PromptComparer : IEqualityComparer<int[]>
    {
        public static readonly PromptComparer Instance = new();

        public bool Equals(int[]? x, int[]? y) => x is null ? y is null : y is not null && x.AsSpan().SequenceEqual(y);

        public int GetHashCode(int[] prompt)
        {
            var hash = new HashCode();
            hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(prompt.AsSpan()));
            return hash.ToHashCode();
        }
    }

    // Reads every prompt, left-padded to the longest; returns the next-token logits [B * V] on the CPU.
    private static float[] Prefill(CausalLanguageModel model, List<RowState> active, int[][] prompts, int promptLength, RowMask promptValid,
        KeyValueCache cache, int vocabularySize, Device device)
    {
        using var scope = NewDisposeScope();
        var ids = new long[active.Count * promptLength];
        var positions = new long[active.Count * promptLength];
        for (int r = 0; r < active.Count; r++)
        {
            var prompt = prompts[active[r].Index];
            int padding = promptLength - prompt.Length;
            for (int j = 0; j < prompt.Length; j++)
            {
                ids[r * promptLength + padding + j] = prompt[j];
                positions[r * promptLength + padding + j] = j;
            }
        }
        var tokens = tensor(ids, [active.Count, promptLength], device: device);
        var where = tensor(positions, [active.Count, promptLength], device: device);
        // Causal, padding left out; a padding query sees itself, so that no row of the attention is empty (NaN).
        var causal = ones([promptLength, promptLength], ScalarType.Bool, device).tril();
        var self = eye(promptLength, dtype: ScalarType.Bool, device: device);
        var mask = causal.logical_and(promptValid.Current.unsqueeze(1).logical_or(self)).unsqueeze(1);
        return Logits(model.NextTokenLogits(tokens, where, cache, mask), vocabularySize);
    }

    // Reads the token each row just wrote; returns the next-token logits [B * V] on the CPU.
    private static float[] Step(CausalLanguageModel model, List<RowState> active, Tensor promptValid, KeyValueCache cache, int vocabularySize, Device device)
    {
        using var scope = NewDisposeScope();
        var tokens = tensor(active.Select(s => (long)s.LastToken).ToArray(), [active.Count, 1], device: device);
        var positions = tensor(active.Select(s => (long)s.LastPosition).ToArray(), [active.Count, 1], device: device);
        // Every column after the prompts holds a written token of every row still here.
        long written = cache.Length + 1 - promptValid.shape[1];
        var mask = cat([promptValid, ones([active.Count, written], ScalarType.Bool, device)], 1).view(active.Count, 1, 1, -1);
        return Logits(model.NextTokenLogits(tokens, positions, cache, mask), vocabularySize);
    }

    private static float[] Logits(Tensor logits, int vocabularySize) =>
        logits.narrow(-1, 0, vocabularySize).to(ScalarType.Float32, CPU).contiguous().data<float>().ToArray();

    private static RowMask PromptValidity(List<RowState> active, int promptLength, Device device)
    {
        var valid = new bool[active.Count * promptLength];
        for (int r = 0; r < active.Count; r++)
            for (int j = promptLength - active[r].PromptLength; j < promptLength; j++) valid[r * promptLength + j] = true;
        return new RowMask(tensor(valid, [active.Count, promptLength], device: device).DetachFromDisposeScope());
    }

    /// <summary>A [B, L] mask whose rows follow the cache's when rows leave.</summary>
    private sealed class RowMask(Tensor current) : IDisposable
    {
        public Tensor Current { get; private set; } = current;

        public void Keep(Tensor rows)
        {
            var kept = Current.index_select(0, rows).DetachFromDisposeScope();
            Current.Dispose();
            Current = kept;
        }

        public void Dispose() => Current.Dispose();
    }

    /// <summary>One row's generator, tokens and budget.</summary>
    private sealed class RowState
    {
        private readonly GenerationRow row;
        private readonly List<int> tokens = [];
        private readonly double[] probabilities;
        private readonly int[] order;
        private readonly IReadOnlySet<int> endOfSequence;
        private ulong random;

        public RowState(int index, GenerationRow row, int promptLength, int context, IReadOnlySet<int> endOfSequence)
        {
            this.endOfSequence = endOfSequence;
            Index = index;
            this.row = row;
            PromptLength = promptLength;
            // Positions run up to context - 1: the last token written may sit there, and is not read back.
            Budget = Math.Min(row.MaxNewTokens, context - promptLength);
            random = row.Seed;
            probabilities = [];
            order = [];
            LastPosition = promptLength - 1;
        }

        public int Index { get; }
        public int PromptLength { get; }
        public int Budget { get; }
        public int LastToken { get; private set; }
        public int LastPosition { get; private set; }

        public GenerationResult Result(GenerationEnd end) => new([.. tokens], end, PromptLength);

        /// <summary>Adds a token; the reason the row ends with it, or null when it goes on.</summary>
        public GenerationEnd? Append(int token, Func<int, IReadOnlyList<int>, bool>? stop)
        {
            LastToken = token;
            LastPosition++;
            if (endOfSequence.Contains(token)) return GenerationEnd.EndOfText;
            tokens.Add(token);
            if (stop is not null && stop(Index, tokens)) return GenerationEnd.Stopped;
            return tokens.Count >= Budget ? GenerationEnd.Length : null;
        }

        /// <summary>The next token from <paramref name="logits"/> [V], as the row's settings and generator say.</summary>
        public int Draw(ReadOnlySpan<float> logits)
        {
            if (row.Temperature == 0) return ArgMax(logits);
            var p = probabilities.Length == logits.Length ? probabilities : new double[logits.Length];
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
}
