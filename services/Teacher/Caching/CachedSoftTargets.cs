using System.Diagnostics;
using System.Runtime.InteropServices;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Batching;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// Answers a validated batch through the per-example cache: looks every example up at once,
/// runs the teacher (through its batcher) over only the examples it misses, puts the answer
/// together in request order and writes the new examples back. A miss that another request is
/// computing at the same moment waits for that answer instead (<see cref="InFlightTargets"/>),
/// so concurrent misses of one example run the model once. An uncached batch is computed without
/// looking in the cache and is not written to it.
/// </summary>
public sealed class CachedSoftTargets(ISoftTargetCache cache, SoftTargetKeys keys, InFlightTargets inFlight, TeacherForward forward,
    TeacherMetrics metrics, ILogger<CachedSoftTargets> logger)
{
    /// <summary>
    /// Log-probabilities [B, C] in the output dtype, and how many examples came from the cache;
    /// <paramref name="deadline"/> is the call's (UTC; <see cref="DateTime.MaxValue"/> for none).
    /// </summary>
    /// <param name="caller">Who asks (one per stream): forwards are shared fairly between callers.</param>
    /// <exception cref="TeacherBusyException">the teacher's queue stayed full until the deadline.</exception>
    public async Task<SoftTargetResult> ComputeAsync(ValidatedBatch batch, Caller caller, DateTime deadline, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var teacher = batch.Teacher;
        var rowBytes = teacher.NumOutputs * batch.OutputDType.ElementSize();
        var exampleKeys = keys.Compute(teacher.Name, teacher.Version, batch.Temperature, batch.OutputDType, batch.Inputs);
        var (output, misses) = await ReadCachedAsync(teacher.Name, exampleKeys, rowBytes, cancellationToken, batch.Uncached);
        var hits = batch.Count - misses.Count;

        // An example whose computation another request owns is waited for; when that owner gives
        // up (cancelled, failed) the example comes round again, and this request may own it then.
        IReadOnlyList<int> pending = misses;
        while (pending.Count > 0)
        {
            var claim = inFlight.ClaimMany(exampleKeys, pending);
            try
            {
                if (claim.Joined.Count > 0) metrics.CoalescedMisses(teacher.Name, claim.Joined.Count);
                if (claim.Owned.Count > 0) await ComputeOwnedAsync(batch, caller, exampleKeys, claim, output, deadline, cancellationToken);
            }
            finally
            {
                claim.Dispose();
            }
            pending = await WaitForJoinedAsync(claim.Joined, output, rowBytes, cancellationToken);
        }
        return Answered(batch, output, hits, started);
    }

    /// <summary>
    /// Answers a batch sent as example digests from the cache alone: the rows it holds, NaN rows
    /// and their indices in <see cref="SoftTargetResult.Missing"/> for the rest. Nothing is computed.
    /// </summary>
    public Task<SoftTargetResult> LookUpAsync(ValidatedLookup lookup, CancellationToken cancellationToken) =>
        LookUpAsync(lookup, lookup.Teacher.Name, lookup.Teacher.Version, cancellationToken);

    /// <summary>
    /// As <see cref="LookUpAsync(ValidatedLookup, CancellationToken)"/>, for the rows cached under another teacher
    /// <paramref name="name"/> and <paramref name="version"/> than the one the lookup was checked against (an ensemble's).
    /// </summary>
    public async Task<SoftTargetResult> LookUpAsync(ValidatedLookup lookup, string name, string version, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var rowBytes = lookup.Teacher.NumOutputs * lookup.OutputDType.ElementSize();
        var exampleKeys = keys.FromDigests(name, version, lookup.Temperature, lookup.OutputDType, lookup.InputDType, lookup.Shape,
            lookup.Digests.Span);
        var (output, missing) = await ReadCachedAsync(name, exampleKeys, rowBytes, cancellationToken);
        foreach (var i in missing) FillNaN(output.AsSpan(i * rowBytes, rowBytes), lookup.OutputDType);
        metrics.RequestAnswered(name, Stopwatch.GetElapsedTime(started));
        return new SoftTargetResult(output, lookup.Count - missing.Count, missing);
    }

    /// <summary>
    /// A request's first step either way: every example looked up at once, the rows found copied
    /// into the answer in request order; returns the answer and the examples the cache lacks.
    /// Counted in the metrics of teacher <paramref name="name"/>. An <paramref name="uncached"/> batch is not
    /// looked up: every example is to be computed.
    /// </summary>
    public async Task<(byte[] Output, List<int> Misses)> ReadCachedAsync(string name, byte[][] exampleKeys, int rowBytes,
        CancellationToken cancellationToken, bool uncached = false)
    {
        metrics.RequestReceived(name, exampleKeys.Length);
        if (uncached) return (new byte[exampleKeys.Length * rowBytes], Enumerable.Range(0, exampleKeys.Length).ToList());
        var cached = await cache.GetManyAsync(exampleKeys, cancellationToken);
        var output = new byte[exampleKeys.Length * rowBytes];
        var misses = new List<int>();
        for (int i = 0; i < exampleKeys.Length; i++)
        {
            // A value of the wrong length (another format under the same key) counts as a miss.
            if (cached[i] is { } row && row.Length == rowBytes) row.CopyTo(output, i * rowBytes);
            else misses.Add(i);
        }
        metrics.CacheLookedUp(name, exampleKeys.Length - misses.Count, misses.Count);
        return (output, misses);
    }

    // A row nobody can mistake for an answer: a caller that ignores `missing` trains on NaN and notices.
    private static void FillNaN(Span<byte> row, WireDType dtype)
    {
        if (dtype == WireDType.Float16) MemoryMarshal.Cast<byte, Half>(row).Fill(Half.NaN);
        else MemoryMarshal.Cast<byte, float>(row).Fill(float.NaN);
    }

    // Runs the model on the examples this request owns, hands each row to whoever waits for it,
    // and writes the rows to the cache.
    private async Task ComputeOwnedAsync(ValidatedBatch batch, Caller caller, byte[][] exampleKeys, InFlightTargets.Claim claim, byte[] output,
        DateTime deadline, CancellationToken cancellationToken)
    {
        var owned = claim.Owned;
        var rowBytes = batch.Teacher.NumOutputs * batch.OutputDType.ElementSize();
        var inputs = owned.Count == batch.Count ? batch.Inputs : Gather(batch.Inputs, owned);
        var computed = await forward.LogProbsAsync(batch.Teacher, inputs, batch.Temperature, batch.OutputDType, caller, deadline, cancellationToken);

        var ownedKeys = new byte[owned.Count][];
        var rows = new byte[owned.Count][];
        for (int j = 0; j < owned.Count; j++)
        {
            var row = computed.AsSpan(j * rowBytes, rowBytes).ToArray();
            row.CopyTo(output, owned[j] * rowBytes);
            claim.Complete(j, row);
            ownedKeys[j] = exampleKeys[owned[j]];
            rows[j] = row;
        }
        if (!batch.Uncached) await cache.SetFiniteOrLogAsync(ownedKeys, rows, batch.OutputDType, valuesStart: 0, batch.Teacher.Name, logger, cancellationToken);
    }

    // Copies in the rows other requests computed; returns the examples whose owner gave up.
    private static async Task<List<int>> WaitForJoinedAsync(List<(int Index, Task<byte[]?> Row)> joined, byte[] output, int rowBytes,
        CancellationToken cancellationToken)
    {
        var again = new List<int>();
        foreach (var (index, row) in joined)
        {
            if (await row.WaitAsync(cancellationToken) is { } value) value.CopyTo(output, index * rowBytes);
            else again.Add(index);
        }
        return again;
    }

    private SoftTargetResult Answered(ValidatedBatch batch, byte[] output, int hits, long started)
    {
        metrics.RequestAnswered(batch.Teacher.Name, Stopwatch.GetElapsedTime(started));
        return new SoftTargetResult(output, hits);
    }

    /// <summary>The examples of <paramref name="inputs"/> at <paramref name="indices"/>, in that order.</summary>
    public static WireTensor Gather(WireTensor inputs, IReadOnlyList<int> indices)
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
