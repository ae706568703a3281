using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// One <see cref="SequenceBatcher"/> per loaded language-model version, made on first use, as
/// <see cref="BatcherPool"/> does for classifiers: a version swapped in gets a batcher of its own;
/// the replaced version's batcher finishes what was queued and stops when that version is disposed.
/// </summary>
public sealed class SequenceBatcherPool(IOptions<BatchingOptions> options, TeacherMetrics metrics) : IDisposable
{
    private readonly Dictionary<LoadedTeacher, SequenceBatcher> batchers = new(ReferenceEqualityComparer.Instance);
    private bool disposed;

    /// <summary>Batchers running now: one per language-model version asked since it was loaded.</summary>
    public int Count
    {
        get
        {
            lock (batchers) return batchers.Count;
        }
    }

    /// <summary>The batcher of <paramref name="teacher"/> (this very version, a language model).</summary>
    public SequenceBatcher For(LoadedTeacher teacher)
    {
        SequenceBatcher batcher;
        lock (batchers)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (batchers.TryGetValue(teacher, out var existing)) return existing;
            batcher = new SequenceBatcher(teacher, options.Value, metrics);
            batchers.Add(teacher, batcher);
        }
        // Runs at once when the version is already retired, which stops the batcher just made.
        teacher.Retired.Register(() => Retire(teacher));
        return batcher;
    }

    private void Retire(LoadedTeacher teacher)
    {
        SequenceBatcher? batcher;
        lock (batchers)
        {
            if (!batchers.Remove(teacher, out batcher)) return;
        }
        batcher.Stop();
    }

    public void Dispose()
    {
        SequenceBatcher[] all;
        lock (batchers)
        {
            disposed = true;
            all = [.. batchers.Values];
            batchers.Clear();
        }
        foreach (var batcher in all) batcher.Dispose();
    }
}
