using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace TeacherStudent.Teacher.Registry;

/// <summary>
/// The teachers this service holds, by name, each at its current version. A new version is
/// swapped in with one atomic exchange; a request takes a <see cref="TeacherLease"/> on the
/// version current when it starts and answers with it, and a replaced version is disposed once
/// the last lease on it is released. Names are added, never removed.
/// </summary>
public sealed class TeacherRegistry : IDisposable
{
    private readonly ConcurrentDictionary<string, Slot> slots = new(StringComparer.Ordinal);
    private int disposed;

    public TeacherRegistry(IEnumerable<LoadedTeacher> teachers)
    {
        foreach (var teacher in teachers)
        {
            if (!slots.TryAdd(teacher.Name, new Slot(new SharedTeacher(teacher))))
                throw new ArgumentException($"two teachers are named '{teacher.Name}'; names must be unique.", nameof(teachers));
        }
    }

    /// <summary>Raised after a version is swapped in (or a name added), with the teacher's name.</summary>
    public event Action<string>? Changed;

    /// <summary>The current version of every teacher, in name order.</summary>
    public IReadOnlyList<LoadedTeacher> All =>
        slots.Values.Select(s => s.Current.Teacher).OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();

    /// <summary>The known names, in order, for messages that list them.</summary>
    public string KnownNames => string.Join(", ", slots.Keys.Order(StringComparer.Ordinal));

    /// <summary>
    /// The current version of a teacher, to describe it. Not held: it may be replaced and
    /// disposed at any moment, so only use it to run the model through <see cref="Acquire"/>.
    /// </summary>
    public bool TryGet(string name, [NotNullWhen(true)] out LoadedTeacher? teacher)
    {
        teacher = slots.TryGetValue(name, out var slot) ? slot.Current.Teacher : null;
        return teacher is not null;
    }

    /// <summary>A hold on the current version of <paramref name="name"/>, or null when there is no such teacher.</summary>
    public TeacherLease? Acquire(string name)
    {
        if (!slots.TryGetValue(name, out var slot)) return null;
        while (true)
        {
            // A version can only drain to zero after it was replaced, so reading again finds the newer one.
            var shared = slot.Current;
            if (shared.TryAcquire()) return new TeacherLease(shared);
        }
    }

    /// <summary>
    /// Makes <paramref name="next"/> the current version of its name (adding the name when it is new)
    /// and returns the version it replaced, or null for a new name. The replaced version is
    /// disposed once no request holds it.
    /// </summary>
    public string? Swap(LoadedTeacher next)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        var shared = new SharedTeacher(next);
        var slot = slots.GetOrAdd(next.Name, static (_, s) => new Slot(s), shared);
        if (ReferenceEquals(slot.Current, shared))
        {
            Changed?.Invoke(next.Name);
            return null;
        }
        var previous = slot.Exchange(shared);
        slot.LastLoadError = null;
        var previousVersion = previous.Teacher.Version;
        previous.Release();
        Changed?.Invoke(next.Name);
        return previousVersion;
    }

    /// <summary>Why the last attempt to load a new version of <paramref name="name"/> failed; null after a success.</summary>
    public LoadError? LastLoadError(string name) => slots.TryGetValue(name, out var slot) ? slot.LastLoadError : null;

    /// <summary>Records that loading a new version of a known teacher failed; a later success clears it.</summary>
    public void RecordLoadError(string name, LoadError? error)
    {
        if (slots.TryGetValue(name, out var slot)) slot.LastLoadError = error;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        // Requests still holding a version free it when they finish.
        foreach (var slot in slots.Values) slot.Current.Release();
    }

    private sealed class Slot(SharedTeacher first)
    {
        private SharedTeacher current = first;
        private LoadError? lastLoadError;

        public SharedTeacher Current => Volatile.Read(ref current);

        public LoadError? LastLoadError
        {
            get => Volatile.Read(ref lastLoadError);
            set => Volatile.Write(ref lastLoadError, value);
        }

        public SharedTeacher Exchange(SharedTeacher next) => Interlocked.Exchange(ref current, next);
    }
}
