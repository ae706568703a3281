namespace TeacherStudent.Teacher.Registry;

/// <summary>
/// One teacher version with a count of who holds it: the registry while the version is current,
/// plus every request answering with it. Disposed when the last holder lets go, so a replaced
/// version finishes the requests that started on it and is freed right after.
/// </summary>
internal sealed class SharedTeacher(LoadedTeacher teacher)
{
    // Starts at 1, the registry's own hold; once it reaches 0 it never rises again.
    private int holders = 1;

    public LoadedTeacher Teacher => teacher;

    /// <summary>Adds a holder, unless the version is already drained and disposed.</summary>
    public bool TryAcquire()
    {
        var seen = Volatile.Read(ref holders);
        while (seen > 0)
        {
            var before = Interlocked.CompareExchange(ref holders, seen + 1, seen);
            if (before == seen) return true;
            seen = before;
        }
        return false;
    }

    /// <summary>Lets go of one hold; the last one disposes the model.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref holders) == 0) teacher.Dispose();
    }
}
