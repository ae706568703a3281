namespace TeacherStudent.Teacher.Rpc;

/// <summary>
/// Tells the operator that requests arrive that are no valid message, without a flood: one
/// warning line (no stack trace) at most every <see cref="WarningInterval"/>, saying how many more
/// came since the last one; the ones between are logged at Debug.
/// </summary>
public sealed class MalformedMessages(ILogger<MalformedMessages> logger)
{
    /// <summary>Shortest time between two warnings.</summary>
    public static readonly TimeSpan WarningInterval = TimeSpan.FromMinutes(1);

    private long nextWarningAt = long.MinValue;
    private long unwarned;

    /// <summary>Records one refused message, sent to <paramref name="method"/>.</summary>
    public void Report(string method, MalformedMessageException refusal)
    {
        var now = Environment.TickCount64;
        var due = Volatile.Read(ref nextWarningAt);
        // One caller wins the warning when it is due; the others count.
        if (now >= due && Interlocked.CompareExchange(ref nextWarningAt, now + (long)WarningInterval.TotalMilliseconds, due) == due)
        {
            logger.MalformedMessageRefused(method, refusal.MessageName, refusal.Reason, Interlocked.Exchange(ref unwarned, 0),
                (int)WarningInterval.TotalSeconds);
            return;
        }
        Interlocked.Increment(ref unwarned);
        logger.MalformedMessageDetail(method, refusal.MessageName, refusal.Reason);
    }
}
