using System.Diagnostics;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Caching;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Language;

/// <summary>
/// Answers a checked language-model batch through the soft-target cache, one entry per sequence:
/// looks every sequence up at once, runs the teacher on the sequences it misses (one forward),
/// writes their rows back and lays the answer out in request order.
/// </summary>
public sealed class CachedSequenceTargets(ISoftTargetCache cache, SequenceTargetKeys keys, TeacherMetrics metrics,
    ILogger<CachedSequenceTargets> logger)
{
    /// <summary>Fills <paramref name="response"/> with the answer; returns how many sequences came from the cache.</summary>
    public async Task<int> AnswerAsync(ValidatedSequenceBatch batch, SoftTargetsResponse response, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var teacher = batch.Teacher;
        metrics.RequestReceived(teacher.Name, batch.Sequences);
        var layout = new SequenceRows(batch);
        var sequenceKeys = keys.Compute(batch);
        var cached = await cache.GetManyAsync(sequenceKeys, cancellationToken);

        var rows = new byte[batch.Sequences][];
        var misses = new List<int>();
        for (int s = 0; s < rows.Length; s++)
        {
            // A value of the wrong length (another format under the same key) counts as a miss.
            if (cached[s] is { } row && row.Length == layout.RowBytes) rows[s] = row;
            else misses.Add(s);
        }
        var hits = rows.Length - misses.Count;
        metrics.CacheLookedUp(teacher.Name, hits, misses.Count);

        if (misses.Count > 0)
        {
            var tokens = new int[misses.Count * batch.Length];
            for (int j = 0; j < misses.Count; j++) batch.Sequence(misses[j]).CopyTo(tokens.AsSpan(j * batch.Length));
            var computeStarted = Stopwatch.GetTimestamp();
            var targets = await teacher.SequenceTargetsAsync(tokens, misses.Count, batch.Length, batch.Settings, cancellationToken);
            metrics.Forward(teacher.Name, misses.Count, Stopwatch.GetElapsedTime(computeStarted));
            var computed = layout.Encode(targets);
            for (int j = 0; j < misses.Count; j++) rows[misses[j]] = computed[j];
            await cache.SetFiniteOrLogAsync(misses.Select(m => sequenceKeys[m]).ToArray(), computed, batch.OutputDType, layout.ValuesStart,
                teacher.Name, logger, cancellationToken);
        }
        layout.Answer(response, rows);
        metrics.RequestAnswered(teacher.Name, Stopwatch.GetElapsedTime(started));
        return hits;
    }
}
