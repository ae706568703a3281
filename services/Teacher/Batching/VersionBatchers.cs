using TeacherStudent.Teacher.Registry;

namespace TeacherStudent.Teacher.Batching;

/// <summary>A batcher of one teacher version: it stops taking work when told, and ends when disposed.</summary>
public interface IVersionBatcher : IDisposable
{
    /// <summary>Lets what is queued run, then ends (the version is being retired).</summary>
    void Stop();
}

/// <summary>
/// One batcher per loaded teacher version, made on first use. A version swapped in gets a batcher of
/// its own; the replaced version's batcher finishes what its requests queued and stops when that
/// version is disposed (<see cref="LoadedTeacher.Retired"/>). Shared by <see cref="BatcherPool"/>
/// (classifiers), <see cref="SequenceBatcherPool"/> (language models' soft targets) and
/// <see cref="Generation.LocalGenerators"/> (their Generate).
/// </summary>
public sealed class VersionBatchers<TBatcher>(Func<LoadedTeacher, TBatcher> create) : IDisposable
    where TBatcher : class, IVersionBatcher
{
    private readonly Dictionary<LoadedTeacher, TBatcher> batchers = new(ReferenceEqualityComparer.Instance);
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
    public TBatcher For(LoadedTeacher teacher)
    {
        TBatcher batcher;
        lock (batchers)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (batchers.TryGetValue(teacher, out var existing)) return existing;
            batcher = create(teacher);
            batchers.Add(teacher, batcher);
        }
        // Runs at once when the version is already retired, which stops the batcher just made.
        teacher.Retired.Register(() => Retire(teacher));
        return batcher;
    }

    // The version is being disposed, so nobody holds it to queue more: the thread ends once the queue is empty.
    private void Retire(LoadedTeacher teacher)
    {
        TBatcher? batcher;
        lock (batchers)
        {
            if (!batchers.Remove(teacher, out batcher)) return;
        }
        batcher.Stop();
    }

    public void Dispose()
    {
        TBatcher[] all;
        lock (batchers)
        {
            disposed = true;
            all = [.. batchers.Values];
            batchers.Clear();
        }
        foreach (var batcher in all) batcher.Dispose();
    }
}
