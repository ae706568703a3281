using System.Diagnostics;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Teacher.Batching;
using TeacherStudent.Teacher.Caching;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Language;

/// <summary>
/// Answers a checked language-model batch through the soft-target cache, one entry per sequence:
/// looks every sequence up at once, runs the teacher on the sequences it misses (through the
/// version's <see cref="SequenceBatcher"/>, in forwards shared with other requests), writes their
/// rows back and lays the answer out in request order. A miss that another request is computing at
/// the same moment (the same tokens and settings, on any stream) waits for that answer instead
/// (<see cref="InFlightTargets"/>), so concurrent identical sequences run the model once. An uncached
/// batch is computed without looking in the cache and is not written to it.
/// </summary>
public sealed class CachedSequenceTargets(ISoftTargetCache cache, SequenceTargetKeys keys, InFlightTargets inFlight, SequenceForward forward,
    TeacherMetrics metrics, ILogger<CachedSequenceTargets> logger)
{
    /// <summary>Fills <paramref name="response"/> with the answer; returns how many sequences came from the cache.</summary>
    /// <param name="caller">Who asks (one per stream): forwards are shared fairly between callers.</param>
    /// <param name="deadline">The call's deadline (UTC; <see cref="DateTime.MaxValue"/> for none).</param>
    /// <exception cref="TeacherBusyException">the teacher's queue stayed full until the deadline.</exception>
    public async Task<int> AnswerAsync(ValidatedSequenceBatch batch, SoftTargetsResponse response, Caller caller, DateTime deadline,
        CancellationToken cancellationToken)
    {
        var (rows, hits) = await RowsAsync(batch, caller, deadline, cancellationToken);
        new SequenceRows(batch).Answer(response, rows);
        return hits;
    }

    /// <summary>
    /// The answer as one row per sequence, in request order (<see cref="SequenceRows"/>), and how many came from the
    /// cache: what <see cref="AnswerAsync"/> sends, and what an ensemble combines its members' answers from.
    /// </summary>
    /// <exception cref="TeacherBusyException">the teacher's queue stayed full until the deadline.</exception>
    public async Task<(byte[][] Rows, int Hits)> RowsAsync(ValidatedSequenceBatch batch, Caller caller, DateTime deadline, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var teacher = batch.Teacher;
        var layout = new SequenceRows(batch);
        var sequenceKeys = keys.Compute(batch);
        var (rows, misses) = await ReadCachedAsync(teacher.Name, batch, layout, sequenceKeys, cancellationToken);
        var hits = rows.Length - misses.Count;

        // A sequence whose computation another request owns is waited for; when that owner gives up
        // (cancelled, failed) the sequence comes round again, and this request may own it then.
        IReadOnlyList<int> pending = misses;
        while (pending.Count > 0)
        {
            var claim = inFlight.ClaimMany(sequenceKeys, pending);
            try
            {
                if (claim.Joined.Count > 0) metrics.CoalescedMisses(teacher.Name, claim.Joined.Count);
                if (claim.Owned.Count > 0) await ComputeOwnedAsync(batch, layout, sequenceKeys, claim, rows, caller, deadline, cancellationToken);
            }
            finally
            {
                claim.Dispose();
            }
            pending = await WaitForJoinedAsync(claim.Joined, rows, cancellationToken);
        }
        metrics.RequestAnswered(teacher.Name, Stopwatch.GetElapsedTime(started));
        return (rows, hits);
    }

    /// <summary>
    /// A request's first step: every sequence looked up at once (none for an uncached batch), counted in the metrics
    /// of teacher <paramref name="name"/>; the rows found, in request order (null where missing), and the misses.
    /// </summary>
    public async Task<(byte[][] Rows, List<int> Misses)> ReadCachedAsync(string name, ValidatedSequenceBatch batch, SequenceRows layout,
        byte[][] sequenceKeys, CancellationToken cancellationToken)
    {
        metrics.RequestReceived(name, batch.Sequences);
        var cached = batch.Uncached ? new byte[]?[batch.Sequences] : await cache.GetManyAsync(sequenceKeys, cancellationToken);
        var rows = new byte[batch.Sequences][];
        var misses = new List<int>();
        for (int s = 0; s < rows.Length; s++)
        {
            // A value of the wrong length (another format under the same key) counts as a miss.
            if (cached[s] is { } row && row.Length == layout.RowBytes) rows[s] = row;
            else misses.Add(s);
        }
        if (!batch.Uncached) metrics.CacheLookedUp(name, rows.Length - misses.Count, misses.Count);
        return (rows, misses);
    }

    // Runs the model on the sequences this request owns, hands each row to whoever waits for it,
    // and writes the rows to the cache.
    private async Task ComputeOwnedAsync(ValidatedSequenceBatch batch, SequenceRows layout, byte[][] sequenceKeys, InFlightTargets.Claim claim,
        byte[][] rows, Caller caller, DateTime deadline, CancellationToken cancellationToken)
    {
        var owned = claim.Owned;
        var sequences = owned.Select(s => new SequenceToScore(batch.Tokens.AsMemory(s * batch.Length, batch.Length), batch.Settings)).ToArray();
        var targets = await forward.ScoreAsync(batch.Teacher, sequences, caller, deadline, cancellationToken);
        var computed = new byte[owned.Count][];
        for (int j = 0; j < owned.Count; j++)
        {
            computed[j] = layout.Encode(targets[j])[0];
            rows[owned[j]] = computed[j];
            claim.Complete(j, computed[j]);
        }
        if (!batch.Uncached)
            await cache.SetFiniteOrLogAsync(owned.Select(s => sequenceKeys[s]).ToArray(), computed, batch.OutputDType, layout.ValuesStart,
                batch.Teacher.Name, logger, cancellationToken);
    }

    // Copies in the rows other requests computed; returns the sequences whose owner gave up.
    private static async Task<List<int>> WaitForJoinedAsync(List<(int Index, Task<byte[]?> Row)> joined, byte[][] rows, CancellationToken cancellationToken)
    {
        var again = new List<int>();
        foreach (var (index, row) in joined)
        {
            if (await row.WaitAsync(cancellationToken) is { } value) rows[index] = value;
            else again.Add(index);
        }
        return again;
    }
}
