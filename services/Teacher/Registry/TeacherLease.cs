namespace TeacherStudent.Teacher.Registry;

/// <summary>
/// A request's hold on the teacher version it started with: that version stays loaded, whatever
/// is swapped in meanwhile, until the lease is disposed.
/// </summary>
public sealed class TeacherLease : IDisposable
{
    private SharedTeacher? shared;

    internal TeacherLease(SharedTeacher shared)
    {
        this.shared = shared;
        Teacher = shared.Teacher;
    }

    /// <summary>The version this lease holds.</summary>
    public LoadedTeacher Teacher { get; }

    public void Dispose() => Interlocked.Exchange(ref shared, null)?.Release();
}
