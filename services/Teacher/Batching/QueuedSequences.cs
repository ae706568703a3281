using System.Diagnostics;
using TeacherStudent.Distillation.Language;

namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// One request's sequences inside a <see cref="SequenceBatcher"/>: what they are, how many the
/// batcher has handed to forwards so far (in order), and their targets as the forwards finish them.
/// <see cref="State"/> and <see cref="Taken"/> change under the batcher's lock.
/// </summary>
internal sealed class QueuedSequences(IReadOnlyList<SequenceToScore> sequences, Caller caller) : IQueuedRequest
{
    private int done;

    /// <summary>Where the request is: waiting for room, queued (some sequences not yet taken), all taken, or over.</summary>
    public QueuedRequestState State { get; set; } = QueuedRequestState.New;

    /// <summary>Who asked (one per stream); forwards are shared fairly between callers.</summary>
    public Caller Caller { get; } = caller;

    public bool Counted { get; set; }

    /// <summary>The sequences, in request order.</summary>
    public IReadOnlyList<SequenceToScore> Sequences { get; } = sequences;

    /// <summary>Number of sequences.</summary>
    public int Count => Sequences.Count;

    /// <summary>Sequences handed to forwards so far.</summary>
    public int Taken { get; private set; }

    /// <summary>Sequences not yet handed to a forward.</summary>
    public int Remaining => Count - Taken;

    /// <summary>Tokens of the sequences not yet handed to a forward.</summary>
    public int RemainingTokens { get; private set; } = sequences.Sum(s => s.Length);

    /// <summary>Tokens of the next sequence to hand out (only while <see cref="Remaining"/> &gt; 0).</summary>
    public int NextLength => Sequences[Taken].Length;

    /// <summary>When the caller reached the batcher (Stopwatch ticks).</summary>
    public long Arrived { get; } = Stopwatch.GetTimestamp();

    /// <summary>When the request entered the queue (Stopwatch ticks); MaxDelay counts from here.</summary>
    public long QueuedAt { get; set; }

    /// <summary>The targets of every sequence, in request order, filled in as forwards finish.</summary>
    public SequenceTargetBatch[] Results { get; } = new SequenceTargetBatch[sequences.Count];

    /// <summary>Completed with <see cref="Results"/> once every sequence is done; or cancelled, failed, refused.</summary>
    public TaskCompletionSource<SequenceTargetBatch[]> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Fail(Exception error) => Answer.TrySetException(error);

    public void Cancel(CancellationToken token) => Answer.TrySetCanceled(token);

    /// <summary>Hands the next sequence to a forward; returns its index.</summary>
    public int TakeNext()
    {
        RemainingTokens -= NextLength;
        return Taken++;
    }

    /// <summary>Counts <paramref name="sequences"/> more results written; true for the call that writes the last.</summary>
    public bool Complete(int sequences) => Interlocked.Add(ref done, sequences) == Count;
}
