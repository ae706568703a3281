using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// One <see cref="DynamicBatcher"/> per loaded teacher version, made on first use. A version
/// swapped in gets a batcher of its own; the replaced version's batcher finishes what its
/// requests queued and stops when that version is disposed (<see cref="LoadedTeacher.Retired"/>).
/// </summary>
public sealed class BatcherPool(IOptions<BatchingOptions> options, TeacherMetrics metrics) : IDisposable
{
    private readonly Dictionary<LoadedTeacher, DynamicBatcher> batchers = new(ReferenceEqualityComparer.Instance);
    private bool disposed;

    /// <summary>Batchers running now: one per teacher version that has been asked since it was loaded.</summary>
    public int Count
    {
        get
        {
            lock (batchers) return batchers.Count;
        }
    }

    /// <summary>The batcher of <paramref name="teacher"/> (this very version).</summary>
    public DynamicBatcher For(LoadedTeacher teacher)
    {
        DynamicBatcher batcher;
        lock (batchers)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (batchers.TryGetValue(teacher, out var existing)) return existing;
            batcher = new DynamicBatcher(teacher, options.Value, metrics, TorchThreads.Total);
            batchers.Add(teacher, batcher);
        }
        // Runs at once when the version is already retired, which stops the batcher just made.
        teacher.Retired.Register(() => Retire(teacher));
        return batcher;
    }

    // The version is being disposed, so nobody holds it to queue more: the thread ends once the queue is empty.
    private void Retire(LoadedTeacher teacher)
    {
        DynamicBatcher? batcher;
        lock (batchers)
        {
            if (!batchers.Remove(teacher, out batcher)) return;
        }
        batcher.Stop();
    }

    public void Dispose()
    {
        DynamicBatcher[] all;
        lock (batchers)
        {
            disposed = true;
            all = [.. batchers.Values];
            batchers.Clear();
        }
        foreach (var batcher in all) batcher.Dispose();
    }
}
