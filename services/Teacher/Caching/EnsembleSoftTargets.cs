using System.Diagnostics;
using System.Runtime.InteropServices;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Batching;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// Answers a batch asked of an ensemble of teachers (<see cref="TeacherEnsemble"/>): the examples the
/// cache holds under the ensemble's name and version come from there; the rest are asked of every member at
/// once, each through its own cache and batcher (<see cref="CachedSoftTargets"/>: a member's answers are
/// shared with its direct callers, its forwards batched with theirs and shared fairly by this caller), in
/// float32 at the asked temperature, combined in log space (<see cref="EnsembleTargets"/>), and written back
/// under the ensemble's key. The ensemble's version names every member's, so a member swapped misses it.
/// An uncached batch is neither looked up nor kept, the ensemble's rows or its members'.
/// </summary>
public sealed class EnsembleSoftTargets(ISoftTargetCache cache, SoftTargetKeys keys, CachedSoftTargets members, TeacherMetrics metrics,
    ILogger<EnsembleSoftTargets> logger)
{
    /// <summary>
    /// Log-probabilities [B, C] in the output dtype, and how many examples came from the ensemble's cache;
    /// <paramref name="batch"/> was checked against <see cref="EnsembleLease.Representative"/>.
    /// </summary>
    /// <exception cref="TeacherBusyException">a member's queue stayed full until the deadline.</exception>
    public async Task<SoftTargetResult> ComputeAsync(EnsembleLease ensemble, ValidatedBatch batch, Caller caller, DateTime deadline,
        CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var name = ensemble.Ensemble.Name;
        var classes = batch.Teacher.NumOutputs;
        var rowBytes = classes * batch.OutputDType.ElementSize();
        var exampleKeys = keys.Compute(name, ensemble.Version, batch.Temperature, batch.OutputDType, batch.Inputs);
        var (output, misses) = await members.ReadCachedAsync(name, exampleKeys, rowBytes, cancellationToken, batch.Uncached);
        if (misses.Count > 0)
        {
            var inputs = misses.Count == batch.Count ? batch.Inputs : CachedSoftTargets.Gather(batch.Inputs, misses);
            var answers = await Task.WhenAll(ensemble.Teachers.Select(teacher => members.ComputeAsync(
                new ValidatedBatch(teacher, inputs, misses.Count, batch.Temperature, WireDType.Float32, batch.Uncached), caller, deadline, cancellationToken)));
            var combined = Combine(answers.Select(a => a.LogProbs).ToArray(), misses.Count, classes, ensemble, batch.OutputDType);
            var rows = new byte[misses.Count][];
            for (int j = 0; j < misses.Count; j++)
            {
                rows[j] = combined.AsSpan(j * rowBytes, rowBytes).ToArray();
                rows[j].CopyTo(output, misses[j] * rowBytes);
            }
            if (!batch.Uncached)
                await cache.SetFiniteOrLogAsync(misses.Select(i => exampleKeys[i]).ToArray(), rows, batch.OutputDType, valuesStart: 0, name, logger,
                    cancellationToken);
        }
        metrics.RequestAnswered(name, Stopwatch.GetElapsedTime(started));
        return new SoftTargetResult(output, batch.Count - misses.Count);
    }

    /// <summary>A batch sent as example digests: answered from the ensemble's cache alone, as a teacher's is.</summary>
    public Task<SoftTargetResult> LookUpAsync(EnsembleLease ensemble, ValidatedLookup lookup, CancellationToken cancellationToken) =>
        members.LookUpAsync(lookup, ensemble.Ensemble.Name, ensemble.Version, cancellationToken);

    // Synchronous: the tensors live in a dispose scope of this thread, and only bytes leave it.
    private static byte[] Combine(IReadOnlyList<byte[]> memberRows, int count, int classes, EnsembleLease ensemble, WireDType outputDType)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logProbs = memberRows.Select(rows => tensor(MemoryMarshal.Cast<byte, float>(rows).ToArray(), [count, classes])).ToArray();
        var combined = EnsembleTargets.Combine(logProbs, ensemble.Weights, ensemble.Ensemble.Combination)
            .to(TensorCodec.ToScalarType(outputDType)).contiguous();
        var bytes = new byte[combined.NumberOfElements * outputDType.ElementSize()];
        TensorCodec.CopyBytes(combined, bytes);
        return bytes;
    }
}
