namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// When a request still waiting in a teacher's queue is refused (RESOURCE_EXHAUSTED): the refusal must
/// reach the caller before its call expires, over a network, on a busy machine, so it is sent when a
/// tenth of the time the caller had left on arrival remains, and never later than 100 ms (nor earlier
/// than 1 s) before the deadline. The dynamic, sequence and generation batchers all use it.
/// </summary>
public static class QueueDeadline
{
    private static readonly TimeSpan MinReserve = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxReserve = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Calls <paramref name="refuse"/> at the refusal time of a call due at <paramref name="deadline"/> (UTC;
    /// <see cref="DateTime.MaxValue"/> for none: never): at once when it has passed, else on a timer, returned
    /// so that it can be disposed once the request leaves the queue.
    /// </summary>
    public static Timer? RefuseAt(DateTime deadline, Action refuse)
    {
        if (deadline == DateTime.MaxValue) return null;
        var left = deadline - DateTime.UtcNow;
        left -= TimeSpan.FromTicks(Math.Clamp(left.Ticks / 10, MinReserve.Ticks, MaxReserve.Ticks));
        if (left <= TimeSpan.Zero)
        {
            refuse();
            return null;
        }
        return new Timer(_ => refuse(), null, left, Timeout.InfiniteTimeSpan);
    }
}
