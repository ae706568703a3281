namespace TeacherStudent.Distillation.Language;

/// <summary>
/// An offline student's training data: a fixed set of training windows and the teacher's targets
/// for every input position of them, fetched once before training and kept in memory, sparse
/// (k ids and log-probabilities per position, and the tail mass for top-k). Dense targets cost
/// V floats per position, so they are allowed only up to <see cref="MaxDenseValues"/>. A run also
/// keeps them in its directory (<see cref="OfflineTargetsFile"/>), so that it resumes without the teacher.
/// </summary>
public sealed class OfflineTargets
{
    /// <summary>Windows per request to the teacher.</summary>
    public const int FetchChunk = 32;

    /// <summary>Most dense target values (float32) an offline run may keep: 64 Mi values, 256 MiB.</summary>
    public const long MaxDenseValues = 64L * 1024 * 1024;

    private readonly SequenceTargetBatch[] chunks;

    internal OfflineTargets(int[] windows, int count, int windowLength, SequenceTargetBatch[] chunks)
    {
        Windows = windows;
        Count = count;
        WindowLength = windowLength;
        this.chunks = chunks;
    }

    /// <summary>The windows, row-major [Count * WindowLength]: inputs and next tokens.</summary>
    public int[] Windows { get; }

    /// <summary>Number of windows.</summary>
    public int Count { get; }

    /// <summary>Tokens per window: the context length + 1.</summary>
    public int WindowLength { get; }

    /// <summary>The teacher's answers, one per <see cref="FetchChunk"/> windows, in order.</summary>
    internal IReadOnlyList<SequenceTargetBatch> Chunks => chunks;

    /// <summary>Teacher versions that answered, in the order they first answered.</summary>
    public IReadOnlyList<string> TeacherVersions => chunks.Select(c => c.TeacherVersion).Distinct().ToArray();

    /// <summary>Bytes the targets take in memory.</summary>
    public long Bytes => chunks.Sum(c => 4L * c.LogProbs.Length + 4L * (c.Ids?.Length ?? 0) + 4L * (c.TailLogMass?.Length ?? 0));

    /// <summary>
    /// Refuses, with a sentence that says what to do instead, dense targets for so many positions
    /// that they would not fit in <see cref="MaxDenseValues"/>.
    /// </summary>
    public static void CheckFits(SequenceTargetSettings settings, int windows, int contextLength, int vocabularySize)
    {
        if (!settings.Dense) return;
        long positions = (long)windows * contextLength;
        long values = positions * vocabularySize;
        if (values > MaxDenseValues)
            throw new ArgumentException(
                $"offline dense targets for {windows} windows of {contextLength} tokens would keep {positions} positions x {vocabularySize} tokens " +
                $"= {values * 4 / (1024 * 1024)} MiB in memory (at most {MaxDenseValues * 4 / (1024 * 1024)} MiB, {MaxDenseValues / vocabularySize} positions); " +
                "ask for sparse targets (k > 0, top_k or sampled) or fewer offline windows.");
    }

    /// <summary>
    /// Asks <paramref name="teacher"/> for the targets of every window's inputs (all its tokens but the
    /// last), <see cref="FetchChunk"/> windows at a time; sampled targets are drawn from
    /// <paramref name="settings"/>' seed and each sequence's tokens, so a re-fetch gets the same draws.
    /// </summary>
    public static async Task<OfflineTargets> FetchAsync(ISequenceTargetSource teacher, int[] windows, int count, int windowLength,
        SequenceTargetSettings settings, IProgress<(int Done, int Total)>? progress, CancellationToken cancellationToken)
    {
        if (windows.Length != count * windowLength) throw new ArgumentException($"{windows.Length} tokens do not make {count} windows of {windowLength}.");
        int inputLength = windowLength - 1;
        var chunks = new SequenceTargetBatch[(count + FetchChunk - 1) / FetchChunk];
        for (int c = 0; c < chunks.Length; c++)
        {
            int first = c * FetchChunk, n = Math.Min(FetchChunk, count - first);
            var inputs = new int[n * inputLength];
            for (int i = 0; i < n; i++) windows.AsSpan((first + i) * windowLength, inputLength).CopyTo(inputs.AsSpan(i * inputLength));
            chunks[c] = await teacher.GetAsync(inputs, n, inputLength, settings, cancellationToken);
            CheckShape(chunks[c], n, inputLength, settings);
            progress?.Report((first + n, count));
        }
        return new OfflineTargets(windows, count, windowLength, chunks);
    }

    /// <summary>The window with index <paramref name="window"/>.</summary>
    public ReadOnlySpan<int> Window(int window) => Windows.AsSpan(window * WindowLength, WindowLength);

    /// <summary>The targets of the given windows, in that order, as one batch.</summary>
    public SequenceTargetBatch Batch(IReadOnlyList<int> windows)
    {
        var first = chunks[0];
        int inputLength = WindowLength - 1, k = first.Settings.Dense ? first.VocabularySize : first.Settings.K;
        int perWindow = inputLength * k;
        var logProbs = new float[windows.Count * perWindow];
        var ids = first.Ids is null ? null : new int[windows.Count * perWindow];
        var tail = first.TailLogMass is null ? null : new float[windows.Count * inputLength];
        for (int i = 0; i < windows.Count; i++)
        {
            var (chunk, row) = (chunks[windows[i] / FetchChunk], windows[i] % FetchChunk);
            chunk.LogProbs.AsSpan(row * perWindow, perWindow).CopyTo(logProbs.AsSpan(i * perWindow));
            chunk.Ids?.AsSpan(row * perWindow, perWindow).CopyTo(ids.AsSpan(i * perWindow));
            chunk.TailLogMass?.AsSpan(row * inputLength, inputLength).CopyTo(tail.AsSpan(i * inputLength));
        }
        return new SequenceTargetBatch(windows.Count, inputLength, first.VocabularySize, first.Settings, logProbs, ids, tail,
            chunks[windows[0] / FetchChunk].TeacherVersion);
    }

    private static void CheckShape(SequenceTargetBatch batch, int sequences, int length, SequenceTargetSettings settings)
    {
        if (batch.Sequences != sequences || batch.Length != length || batch.Settings.K != settings.K || batch.Settings.Kind != settings.Kind)
            throw new InvalidOperationException(
                $"the teacher answered {batch.Sequences} x {batch.Length} {batch.Settings.Shape} targets for {sequences} x {length} {settings.Shape} asked.");
    }
}
