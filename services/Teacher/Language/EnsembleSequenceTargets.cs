using System.Diagnostics;
using System.Runtime.InteropServices;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Batching;
using TeacherStudent.Teacher.Caching;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Language;

/// <summary>
/// Answers a language-model batch asked of an ensemble of language models (<see cref="TeacherEnsemble"/>):
/// the sequences the cache holds under the ensemble's name and version come from there; for the rest, every
/// member scores them at once, densely at the asked temperature (through its own batcher, uncached: dense rows
/// of a large vocabulary would flood the cache), the members' distributions are combined in log space
/// (<see cref="EnsembleTargets"/>), and the targets asked for are taken from the combination
/// (<see cref="SequenceTargets.FromDense"/>: dense, top-k with the tail's mass, or draws seeded as a teacher's
/// own), then cached under the ensemble's key.
/// </summary>
public sealed class EnsembleSequenceTargets(ISoftTargetCache cache, SequenceTargetKeys keys, CachedSequenceTargets members, TeacherMetrics metrics,
    ILogger<EnsembleSequenceTargets> logger)
{
    /// <summary>
    /// Fills <paramref name="response"/> with the answer; returns how many sequences came from the ensemble's cache.
    /// <paramref name="batch"/> was checked against <see cref="EnsembleLease.Representative"/>.
    /// </summary>
    /// <exception cref="TeacherBusyException">a member's queue stayed full until the deadline.</exception>
    public async Task<int> AnswerAsync(EnsembleLease ensemble, ValidatedSequenceBatch batch, SoftTargetsResponse response, Caller caller,
        DateTime deadline, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var name = ensemble.Ensemble.Name;
        var layout = new SequenceRows(batch);
        var sequenceKeys = keys.Compute(batch, name, ensemble.Version);
        var (rows, misses) = await members.ReadCachedAsync(name, batch, layout, sequenceKeys, cancellationToken);
        if (misses.Count > 0)
        {
            var tokens = new int[misses.Count * batch.Length];
            for (int j = 0; j < misses.Count; j++) batch.Sequence(misses[j]).CopyTo(tokens.AsSpan(j * batch.Length));
            var dense = new SequenceTargetSettings(batch.Settings.Temperature);
            var answers = await Task.WhenAll(ensemble.Teachers.Select(teacher => members.RowsAsync(
                new ValidatedSequenceBatch(teacher, tokens, misses.Count, batch.Length, dense, WireDType.Float32, Uncached: true), caller, deadline, cancellationToken)));
            var computed = layout.Encode(Combine(answers.Select(a => a.Rows).ToArray(), tokens, misses.Count, batch, ensemble));
            for (int j = 0; j < misses.Count; j++) rows[misses[j]] = computed[j];
            if (!batch.Uncached)
                await cache.SetFiniteOrLogAsync(misses.Select(s => sequenceKeys[s]).ToArray(), computed, batch.OutputDType, layout.ValuesStart, name, logger,
                    cancellationToken);
        }
        layout.Answer(response, rows);
        metrics.RequestAnswered(name, Stopwatch.GetElapsedTime(started));
        return rows.Length - misses.Count;
    }

    // Synchronous: the tensors live in this thread's dispose scope, and only arrays leave it. Each member's rows are
    // its float32 dense [L, V] per sequence, end to end.
    private static SequenceTargetBatch Combine(IReadOnlyList<byte[][]> memberRows, int[] tokens, int sequences, ValidatedSequenceBatch batch,
        EnsembleLease ensemble)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var vocabulary = batch.Teacher.NumOutputs;
        var logProbs = memberRows.Select(rows =>
        {
            var floats = new float[sequences * batch.Length * vocabulary];
            for (int s = 0; s < sequences; s++) MemoryMarshal.Cast<byte, float>(rows[s]).CopyTo(floats.AsSpan(s * batch.Length * vocabulary));
            return tensor(floats, [sequences * batch.Length, vocabulary]);
        }).ToArray();
        var combined = EnsembleTargets.Combine(logProbs, ensemble.Weights, ensemble.Ensemble.Combination);
        return SequenceTargets.FromDense(combined, tokens, sequences, batch.Length, batch.Settings, ensemble.Version);
    }
}
