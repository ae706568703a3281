namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// Who asks a batcher: one per SoftTargets stream. Forwards are shared fairly between callers, and a
/// batcher that has seen a caller learns from <see cref="Ended"/> when it can send nothing more: until
/// then, a caller with nothing queued may send again at any moment, and is worth waiting for.
/// </summary>
public sealed class Caller : IDisposable
{
    // Never disposed: it holds no timer, and the token is still read by answers of the stream
    // that finish after it ended.
    private readonly CancellationTokenSource ended = new();

    public Caller() => Ended = ended.Token;

    /// <summary>Cancelled when the stream ends.</summary>
    public CancellationToken Ended { get; }

    /// <summary>The stream has ended: the batchers that saw it stop waiting for it.</summary>
    public void Dispose() => ended.Cancel();
}
