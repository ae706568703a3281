namespace TeacherStudent.Teacher.Batching;

/// <summary>A request in a batcher's queue (<see cref="BatchQueue{TRequest}"/>): items (examples, sequences) of one call.</summary>
internal interface IQueuedRequest
{
    /// <summary>Who asked (one per stream).</summary>
    Caller Caller { get; }

    /// <summary>Counted among its caller's requests by <see cref="OpenCallers"/> (from its arrival until it is over); under the batcher's lock.</summary>
    bool Counted { get; set; }

    /// <summary>Where it is in the batcher; under the batcher's lock.</summary>
    QueuedRequestState State { get; set; }

    /// <summary>When it entered the queue (a Stopwatch timestamp).</summary>
    long QueuedAt { get; set; }

    /// <summary>Its items.</summary>
    int Count { get; }

    /// <summary>Its items not yet handed to a forward.</summary>
    int Remaining { get; }

    /// <summary>Ends its call with <paramref name="error"/> (unless it has ended).</summary>
    void Fail(Exception error);

    /// <summary>Ends its call as cancelled (unless it has ended).</summary>
    void Cancel(CancellationToken token);
}

/// <summary>Where a queued request is in its batcher.</summary>
internal enum QueuedRequestState
{
    /// <summary>Not yet seen by the batcher.</summary>
    New,
    /// <summary>Waiting for room in the queue.</summary>
    Waiting,
    /// <summary>In the queue, with items not yet handed to a forward.</summary>
    Queued,
    /// <summary>Every item handed to a forward; the answer comes when they are done.</summary>
    Taken,
    /// <summary>Answered, cancelled, failed or refused.</summary>
    Over,
}
