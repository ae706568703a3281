using System.Diagnostics;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Batching;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// Answers a validated batch through the per-example cache: looks every example up at once,
/// runs the teacher (through its batcher) over only the examples it misses, puts the answer
/// together in request order and writes the new examples back.
/// </summary>
public sealed class CachedSoftTargets(ISoftTargetCache cache, SoftTargetKeys keys, TeacherForward forward, TeacherMetrics metrics,
    ILogger<CachedSoftTargets> logger)
{
    /// <summary>Log-probabilities [B, C] in the output dtype, and how many examples came from the cache.</summary>
    public Task<SoftTargetResult> ComputeAsync(ValidatedBatch batch, CancellationToken cancellationToken) =>
        ComputeAsync(batch, DateTime.MaxValue, cancellationToken);

    /// <summary>
    /// Log-probabilities [B, C] in the output dtype, and how many examples came from the cache;
    /// <paramref name="deadline"/> is the call's (UTC; <see cref="DateTime.MaxValue"/> for none).
    /// </summary>
    /// <exception cref="TeacherBusyException">the teacher's queue stayed full until the deadline.</exception>
    public async Task<SoftTargetResult> ComputeAsync(ValidatedBatch batch, DateTime deadline, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var teacher = batch.Teacher;
        metrics.RequestReceived(teacher.Name, batch.Count);
        var rowBytes = teacher.NumOutputs * batch.OutputDType.ElementSize();
        var exampleKeys = keys.Compute(teacher.Name, teacher.Version, batch.Temperature, batch.OutputDType, batch.Inputs);
        var cached = await cache.GetManyAsync(exampleKeys, cancellationToken);

        var output = new byte[batch.Count * rowBytes];
        var misses = new List<int>();
        for (int i = 0; i < batch.Count; i++)
        {
            // A value of the wrong length (another format under the same key) counts as a miss.
            if (cached[i] is { } row && row.Length == rowBytes) row.CopyTo(output, i * rowBytes);
            else misses.Add(i);
        }
        var hits = batch.Count - misses.Count;
        metrics.CacheLookedUp(teacher.Name, hits, misses.Count);
        if (misses.Count == 0) return Answered(batch, output, hits, started);

        var missInputs = misses.Count == batch.Count ? batch.Inputs : Gather(batch.Inputs, misses);
        var computed = await forward.LogProbsAsync(teacher, missInputs, batch.Temperature, batch.OutputDType, deadline, cancellationToken);

        var missKeys = new byte[misses.Count][];
        var missValues = new byte[misses.Count][];
        for (int j = 0; j < misses.Count; j++)
        {
            var row = computed.AsSpan(j * rowBytes, rowBytes);
            row.CopyTo(output.AsSpan(misses[j] * rowBytes));
            missKeys[j] = exampleKeys[misses[j]];
            missValues[j] = row.ToArray();
        }
        await WriteBackAsync(missKeys, missValues, cancellationToken);
        return Answered(batch, output, hits, started);
    }

    private SoftTargetResult Answered(ValidatedBatch batch, byte[] output, int hits, long started)
    {
        metrics.RequestAnswered(batch.Teacher.Name, Stopwatch.GetElapsedTime(started));
        return new SoftTargetResult(output, hits);
    }

    // The answer is already computed: a failed write costs a later recomputation, not this batch.
    private async Task WriteBackAsync(byte[][] missKeys, byte[][] missValues, CancellationToken cancellationToken)
    {
        try
        {
            await cache.SetManyAsync(missKeys, missValues, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.CacheWriteFailed(e.GetType().Name, e.Message);
        }
    }

    private static WireTensor Gather(WireTensor inputs, List<int> indices)
    {
        var exampleBytes = inputs.Data.Length / (int)inputs.Shape[0];
        var source = inputs.Data.Span;
        var gathered = new byte[indices.Count * exampleBytes];
        for (int j = 0; j < indices.Count; j++)
            source.Slice(indices[j] * exampleBytes, exampleBytes).CopyTo(gathered.AsSpan(j * exampleBytes));
        var shape = (long[])inputs.Shape.Clone();
        shape[0] = indices.Count;
        return new WireTensor(shape, inputs.DType, gathered);
    }
}
