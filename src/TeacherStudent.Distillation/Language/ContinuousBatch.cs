using TeacherStudent.Distillation.Models;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Language;

/// <summary>A row of a <see cref="ContinuousBatch"/>: what to continue, its own stop test, and what it wrote once it ended.</summary>
/// <param name="row">The prompt and how its tokens are drawn.</param>
/// <param name="stop">Asked after every token with the row's tokens so far; ends the row when it says so.</param>
public sealed class BatchRow(GenerationRow row, Func<IReadOnlyList<int>, bool>? stop = null)
{
    public GenerationRow Row { get; } = row;

    public Func<IReadOnlyList<int>, bool>? Stop { get; } = stop;

    /// <summary>What the row wrote, once it ended; null while it runs, or when it left the batch unfinished.</summary>
    public GenerationResult? Result { get; internal set; }

    internal RowDraws? Draws { get; set; }

    // The cache column of the row's first prompt token: every column from it on is the row's.
    internal long Start { get; set; }

    // The next-token logits the row draws from next: [V] at Offset in a block shared with the rows read with it.
    internal float[] Logits { get; set; } = [];
    internal int Offset { get; set; }
}

/// <summary>
/// A running batch of generated rows that rows join and leave at every step (continuous batching). All rows share
/// one <see cref="KeyValueCache"/> whose columns are aligned on the right: every step writes one column for every
/// row, and a row's columns are those from its first prompt token on (<see cref="BatchRow.Start"/>); the columns
/// before are padding, masked out. Rows that join are read in one forward (left-padded to the longest of them, a
/// prompt several of them continue read once unless sharing is off), then stacked under the running rows' cache, the
/// shorter side padded on the left; rows that leave are dropped from the cache, with the columns no row needs any
/// more. Positions are per row, so a row's logits are those it has alone (up to float rounding), and its draws are
/// its own (<see cref="RowDraws"/>).
/// <para>
/// A step is <see cref="Draw"/> (every row draws a token from its logits, on the CPU; rows that end leave) then
/// <see cref="Forward"/> (the model reads every row's new token); <see cref="Admit"/> and <see cref="Remove"/> come
/// between a Forward and the next Draw. Only Admit and Forward run the model: a server may let other forwards through
/// between them. Synchronous, one thread; the model is put in eval mode and computes without gradients.
/// </para>
/// </summary>
public sealed class ContinuousBatch : IDisposable
{
    private readonly CausalLanguageModel model;
    private readonly int vocabularySize;
    private readonly IReadOnlySet<int> endOfSequence;
    private readonly bool sharePrompts, wasTraining;
    private readonly Device device;
    private readonly List<BatchRow> rows = [];
    private KeyValueCache? cache;
    private bool drawn;

    /// <param name="model">The decoder; its first <paramref name="vocabularySize"/> logits are drawn from.</param>
    /// <param name="endOfSequence">A row ends when it writes one of these (left out of its tokens).</param>
    /// <param name="sharePrompts">Rows that join together and continue the same prompt read it once (off: each reads its own, to measure what sharing saves).</param>
    public ContinuousBatch(CausalLanguageModel model, int vocabularySize, IReadOnlyCollection<int> endOfSequence, bool sharePrompts = true)
    {
        if (model.ContextLength < 2) throw new ArgumentException("a model with a context of one token cannot continue a prompt.", nameof(model));
        this.model = model;
        this.vocabularySize = vocabularySize;
        this.endOfSequence = endOfSequence.ToHashSet();
        this.sharePrompts = sharePrompts;
        device = model.parameters().First().device;
        wasTraining = model.training;
        model.eval();
    }

    /// <summary>Rows running now.</summary>
    public int Count => rows.Count;

    /// <summary>The rows running now, in cache order.</summary>
    public IReadOnlyList<BatchRow> Rows => rows;

    /// <summary>Token columns the key-value cache holds now (rows x columns, padding included).</summary>
    public long AllocatedTokens => cache is null ? 0 : cache.Batch * cache.Capacity;

    /// <summary>Prompt tokens the model has read so far (padding left out; a shared prompt counted once).</summary>
    public long PromptTokensRead { get; private set; }

    /// <summary>
    /// The key-value tokens <paramref name="row"/> can take at most: its prompt (a prompt longer than the context keeps its last
    /// context - 1 tokens) and its new tokens, clipped at the context.
    /// </summary>
    public static int Reservation(GenerationRow row, int context)
    {
        int prompt = Math.Min(row.Prompt.Length, context - 1);
        return prompt + Math.Clamp(row.MaxNewTokens, 0, context - prompt);
    }

    /// <summary>
    /// <see cref="AllocatedTokens"/> once <paramref name="joining"/> have joined (before the next Draw), so that a server
    /// can admit rows while the cache stays within a budget.
    /// </summary>
    public long AllocationAfterAdmitting(IEnumerable<GenerationRow> joining)
    {
        int count = 0, longestPrompt = 0, largestBudget = 0;
        foreach (var row in joining)
        {
            int prompt = Math.Min(row.Prompt.Length, model.ContextLength - 1), budget = Reservation(row, model.ContextLength) - prompt;
            if (budget == 0) continue;  // ends at once, never in the cache
            count++;
            longestPrompt = Math.Max(longestPrompt, prompt);
            largestBudget = Math.Max(largestBudget, budget);
        }
        if (count == 0) return AllocatedTokens;
        if (cache is null) return (long)count * (longestPrompt + largestBudget);
        long length = Math.Max(cache.Length - FirstColumn(rows), longestPrompt);
        return (rows.Count + count) * (length + Math.Max(MaxRemaining(rows), largestBudget));
    }

    /// <summary>
    /// Reads the prompts of <paramref name="joining"/> and adds them to the batch: they draw their first tokens at the
    /// next <see cref="Draw"/>. Returns the rows that ended at once (no room to write: their Result is set).
    /// </summary>
    public IReadOnlyList<BatchRow> Admit(IReadOnlyList<BatchRow> joining)
    {
        if (drawn) throw new InvalidOperationException("rows join between a Forward and the next Draw.");
        int context = model.ContextLength;
        var ended = new List<BatchRow>();
        var reading = new List<BatchRow>();
        foreach (var row in joining)
        {
            if (row.Row.Prompt.Length == 0) throw new ArgumentException("a prompt needs at least one token.", nameof(joining));
            new SamplingSettings(row.Row.Temperature, row.Row.TopP, row.Row.MaxNewTokens).Validate();
            row.Draws = new RowDraws(row.Row, Math.Min(row.Row.Prompt.Length, context - 1), context, endOfSequence);
            if (row.Draws.Budget > 0) reading.Add(row);
            else
            {
                row.Result = row.Draws.Result(GenerationEnd.Length);
                ended.Add(row);
            }
        }
        if (reading.Count == 0) return ended;

        using var noGrad = no_grad();
        int promptLength = reading.Max(r => r.Draws!.PromptLength);
        // Alone, the rows' own cache is the batch's, so it is made as large as they need.
        long capacity = cache is null ? promptLength + reading.Max(r => r.Draws!.Budget) : promptLength;
        var (distinct, copyOf) = Distinct(reading);
        var fresh = model.NewCache(distinct.Count, capacity);
        try
        {
            var logits = Prefill(distinct, promptLength, fresh);
            PromptTokensRead += distinct.Sum(r => r.Draws!.PromptLength);
            if (distinct.Count < reading.Count)
            {
                using var copies = tensor(copyOf.Select(c => (long)c).ToArray(), device: device);
                fresh.Keep(copies);
            }
            for (int r = 0; r < reading.Count; r++)
            {
                reading[r].Logits = logits;
                reading[r].Offset = copyOf[r] * vocabularySize;
                reading[r].Start = promptLength - reading[r].Draws!.PromptLength;
            }
            if (cache is null)
            {
                cache = fresh;
                fresh = null;
            }
            else
            {
                long first = FirstColumn(rows), running = cache.Length - first;
                long length = Math.Max(running, promptLength);
                var joined = KeyValueCache.Join(cache, first, fresh, 0, length + Math.Max(MaxRemaining(rows), MaxRemaining(reading)));
                foreach (var row in rows) row.Start += length - running - first;
                foreach (var row in reading) row.Start += length - promptLength;
                cache.Dispose();
                cache = joined;
            }
            rows.AddRange(reading);
        }
        finally
        {
            fresh?.Dispose();
        }
        return ended;
    }

    /// <summary>
    /// Every row draws its next token; the rows that end (end-of-sequence, their stop test, their limit, the context)
    /// leave the batch with their Result set and are returned.
    /// </summary>
    public IReadOnlyList<BatchRow> Draw()
    {
        if (drawn) throw new InvalidOperationException("Forward reads the tokens drawn before the next Draw.");
        drawn = true;
        var ended = new List<BatchRow>();
        foreach (var row in rows)
        {
            var draws = row.Draws!;
            int token = draws.Draw(new ReadOnlySpan<float>(row.Logits, row.Offset, vocabularySize));
            if (draws.Append(token, row.Stop) is not { } end) continue;
            row.Result = draws.Result(end);
            ended.Add(row);
        }
        Remove(ended);
        return ended;
    }

    /// <summary>The model reads the token every row has just drawn: their next logits, ready for the next Draw.</summary>
    public void Forward()
    {
        if (!drawn) throw new InvalidOperationException("Draw comes before Forward.");
        drawn = false;
        if (cache is null) return;
        using var noGrad = no_grad();
        float[] logits;
        using (var scope = NewDisposeScope())
        {
            var tokens = tensor(rows.Select(r => (long)r.Draws!.LastToken).ToArray(), [rows.Count, 1], device: device);
            var positions = tensor(rows.Select(r => (long)r.Draws!.LastPosition).ToArray(), [rows.Count, 1], device: device);
            // A row sees its own columns, the new one included.
            var mask = Visible(cache.Length + 1).view(rows.Count, 1, 1, -1);
            logits = Logits(model.NextTokenLogits(tokens, positions, cache, mask));
        }
        for (int r = 0; r < rows.Count; r++)
        {
            rows[r].Logits = logits;
            rows[r].Offset = r * vocabularySize;
        }
    }

    /// <summary>Rows leave the batch unfinished (their callers went away); their Result stays null.</summary>
    public void Remove(IReadOnlyCollection<BatchRow> leaving)
    {
        if (leaving.Count == 0 || cache is null) return;
        var gone = leaving.ToHashSet(ReferenceEqualityComparer.Instance);
        var kept = new List<long>();
        for (int r = 0; r < rows.Count; r++) if (!gone.Contains(rows[r])) kept.Add(r);
        if (kept.Count == rows.Count) return;
        var staying = kept.Select(r => rows[(int)r]).ToList();
        rows.Clear();
        rows.AddRange(staying);
        if (rows.Count == 0)
        {
            cache.Dispose();
            cache = null;
            return;
        }
        // The columns before every staying row's first, and those beyond what they can still write, are let go.
        long first = FirstColumn(rows);
        using var keep = tensor(kept.ToArray(), device: device);
        cache.Keep(keep, first, cache.Length - first + MaxRemaining(rows));
        foreach (var row in rows) row.Start -= first;
    }

    private static long FirstColumn(List<BatchRow> rows) => rows.Min(r => r.Start);

    private static int MaxRemaining(List<BatchRow> rows) => rows.Max(r => r.Draws!.Remaining);

    // Which of the first `columns` columns each row sees: [B, columns].
    private Tensor Visible(long columns)
    {
        var starts = tensor(rows.Select(r => r.Start).ToArray(), [rows.Count, 1], device: device);
        return arange(columns, ScalarType.Int64, device).unsqueeze(0).ge(starts);
    }

    // The rows with distinct prompts (the first of each), and for every row the position of its prompt among them.
    private (List<BatchRow> Distinct, int[] CopyOf) Distinct(List<BatchRow> reading)
    {
        var distinct = new List<BatchRow>();
        var copyOf = new int[reading.Count];
        var seen = new Dictionary<int[], int>(PromptComparer.Instance);
        for (int r = 0; r < reading.Count; r++)
        {
            var prompt = Prompt(reading[r]);
            if (!sharePrompts || !seen.TryGetValue(prompt, out var at))
            {
                seen[prompt] = at = distinct.Count;
                distinct.Add(reading[r]);
            }
            copyOf[r] = at;
        }
        return (distinct, copyOf);
    }

    // The ids the model reads: the last context - 1 of a longer prompt, so that at least one token can be written.
    private static int[] Prompt(BatchRow row) => row.Row.Prompt[^row.Draws!.PromptLength..];

    // Reads the prompts, left-padded to the longest, into the empty `fresh`; returns the next-token logits [B * V] on the CPU.
    private float[] Prefill(List<BatchRow> distinct, int promptLength, KeyValueCache fresh)
    {
        using var scope = NewDisposeScope();
        var ids = new long[distinct.Count * promptLength];
        var positions = new long[distinct.Count * promptLength];
        var starts = new long[distinct.Count];
        for (int r = 0; r < distinct.Count; r++)
        {
            var prompt = Prompt(distinct[r]);
            int padding = promptLength - prompt.Length;
            starts[r] = padding;
            for (int j = 0; j < prompt.Length; j++)
            {
                ids[r * promptLength + padding + j] = prompt[j];
                positions[r * promptLength + padding + j] = j;
            }
        }
        var tokens = tensor(ids, [distinct.Count, promptLength], device: device);
        var where = tensor(positions, [distinct.Count, promptLength], device: device);
        var own = arange(promptLength, ScalarType.Int64, device).unsqueeze(0).ge(tensor(starts, [distinct.Count, 1], device: device));
        // Causal, padding left out; a padding query sees itself, so that no row of the attention is empty (NaN).
        var causal = ones([promptLength, promptLength], ScalarType.Bool, device).tril();
        var self = eye(promptLength, dtype: ScalarType.Bool, device: device);
        var mask = causal.logical_and(own.unsqueeze(1).logical_or(self)).unsqueeze(1);
        return Logits(model.NextTokenLogits(tokens, where, fresh, mask));
    }

    private float[] Logits(Tensor logits) =>
        logits.narrow(-1, 0, vocabularySize).to(ScalarType.Float32, CPU).contiguous().data<float>().ToArray();

    public void Dispose()
    {
        cache?.Dispose();
        cache = null;
        rows.Clear();
        model.train(wasTraining);
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
}
