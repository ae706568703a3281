using System.Diagnostics;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// The bounded queue of a batcher (<see cref="DynamicBatcher"/>, <see cref="SequenceBatcher"/>): requests
/// in arrival order, counted in items (examples, sequences). It holds <c>capacity</c> items; a request
/// that does not fit waits for room, first come first served, until a little before its call's deadline
/// (<see cref="QueueDeadline"/>), and is then refused (<see cref="TeacherBusyException"/>); one larger than
/// the whole queue is let in alone when the queue is empty. A caller that goes away takes its queued items
/// with it: they are dropped, not computed. It also counts the open streams (<see cref="OpenCallers"/>).
/// Everything is under <see cref="Gate"/>, on which the batcher's forward threads wait and take.
/// </summary>
internal sealed class BatchQueue<TRequest> : IDisposable where TRequest : class, IQueuedRequest
{
    private readonly string teacher, items;
    private readonly int capacity;
    private readonly TeacherMetrics metrics;
    private readonly Action<TRequest>? removed;
    private readonly LinkedList<TRequest> waiting = new();
    private bool stopping, stopped;

    /// <param name="teacher">The teacher's name, for metrics and messages.</param>
    /// <param name="items">What the queue counts, plural ("examples"), for messages.</param>
    /// <param name="removed">Called under the lock when a queued request leaves untaken (its caller went away).</param>
    public BatchQueue(string teacher, string items, int capacity, TeacherMetrics metrics, Action<TRequest>? removed = null)
    {
        (this.teacher, this.items, this.capacity, this.metrics, this.removed) = (teacher, items, capacity, metrics, removed);
        Callers = new OpenCallers(Gate);
    }

    /// <summary>The lock of the queue and its batcher.</summary>
    public object Gate { get; } = new();

    /// <summary>The queued requests with items left to take, in arrival order (the head has waited longest); under the lock.</summary>
    public List<TRequest> Requests { get; } = [];

    /// <summary>Items queued and not yet taken; under the lock.</summary>
    public int Queued { get; private set; }

    /// <summary>The open streams seen; under the lock.</summary>
    public OpenCallers Callers { get; }

    /// <summary>Stop was called; under the lock.</summary>
    public bool Stopping => stopping;

    /// <summary>
    /// Queues <paramref name="request"/>, or puts it in line for room. False once the queue has stopped:
    /// the caller then runs the request on its own.
    /// </summary>
    public bool TryArrive(TRequest request)
    {
        lock (Gate)
        {
            if (stopped) return false;
            Callers.Arrive(request);
            if (waiting.Count > 0 || !Fits(request))
            {
                // First come first served: nobody jumps the callers already waiting for room.
                request.State = QueuedRequestState.Waiting;
                waiting.AddLast(request);
            }
            else
            {
                Enqueue(request);
            }
            return true;
        }
    }

    /// <summary>
    /// Watches an arrived request until disposed: when its caller goes away, its untaken items are dropped and
    /// its answer cancelled; while it still waits for room at the refusal time of <paramref name="deadline"/>, it is refused.
    /// </summary>
    public IDisposable Watch(TRequest request, DateTime deadline, CancellationToken cancellationToken)
    {
        var cancellation = cancellationToken.Register(() => Abandon(request, cancellationToken));
        // Only a request still waiting for room is refused; one already queued is computed.
        var expiry = request.State == QueuedRequestState.Waiting ? QueueDeadline.RefuseAt(deadline, () => Refuse(request)) : null;
        return new Watching(cancellation, expiry);
    }

    /// <summary>
    /// Under the lock, after the batcher took <paramref name="taken"/> items from <see cref="Requests"/>: the requests
    /// with nothing left leave the queue, and the room goes to the requests waiting for it.
    /// </summary>
    public void Took(int taken)
    {
        foreach (var request in Requests)
            if (request.Remaining == 0) request.State = QueuedRequestState.Taken;
        Requests.RemoveAll(r => r.Remaining == 0);
        Queued -= taken;
        metrics.QueueChanged(teacher, -taken);
        AdmitWaiting();
    }

    /// <summary>Under the lock, when the queue is empty: true once Stop was called (the queue takes no more requests from then on).</summary>
    public bool StoppedWhenEmpty()
    {
        if (!stopping) return false;
        stopped = true;
        return true;
    }

    /// <summary>A request is answered: its caller no longer counts it.</summary>
    public void Answered(TRequest request)
    {
        lock (Gate) Callers.Leave(request);
    }

    /// <summary>A forward failed: each of its <paramref name="requests"/> fails with <paramref name="error"/>, and their other items leave the queue.</summary>
    public void Fail(IEnumerable<TRequest> requests, Exception error)
    {
        foreach (var request in requests.Distinct())
        {
            lock (Gate)
            {
                if (request.State == QueuedRequestState.Queued) Remove(request);
                request.State = QueuedRequestState.Over;
                Callers.Leave(request);
            }
            request.Fail(error);
        }
    }

    /// <summary>Stops taking requests once the queue is empty; later ones run on their own.</summary>
    public void Stop()
    {
        lock (Gate)
        {
            stopping = true;
            Monitor.PulseAll(Gate);
        }
    }

    public void Dispose() => Callers.Dispose();

    private bool Fits(TRequest request) => Queued == 0 || Queued + request.Count <= capacity;

    private void Enqueue(TRequest request)
    {
        request.State = QueuedRequestState.Queued;
        request.QueuedAt = Stopwatch.GetTimestamp();
        Requests.Add(request);
        Queued += request.Count;
        metrics.QueueChanged(teacher, request.Count);
        Monitor.PulseAll(Gate);
    }

    // Under the lock, whenever the queue shrinks.
    private void AdmitWaiting()
    {
        while (waiting.First is { } first && Fits(first.Value))
        {
            waiting.RemoveFirst();
            Enqueue(first.Value);
        }
    }

    // The deadline came while the request was still waiting for room: RESOURCE_EXHAUSTED.
    private void Refuse(TRequest request)
    {
        lock (Gate)
        {
            if (request.State != QueuedRequestState.Waiting) return;
            waiting.Remove(request);
            request.State = QueuedRequestState.Over;
            Callers.Leave(request);
            AdmitWaiting();
        }
        metrics.QueueRejected(teacher);
        request.Fail(new TeacherBusyException(
            $"teacher '{teacher}' is busy: its queue stayed full ({capacity} {items}) until this call's deadline; "
            + "send the batch again later or give the call a longer deadline."));
    }

    // The caller went away: whatever of its items is still queued is dropped, not computed.
    private void Abandon(TRequest request, CancellationToken token)
    {
        var dropped = 0;
        lock (Gate)
        {
            if (request.State == QueuedRequestState.Waiting)
            {
                waiting.Remove(request);
            }
            else if (request.State == QueuedRequestState.Queued)
            {
                dropped = Remove(request);
            }
            request.State = QueuedRequestState.Over;
            Callers.Leave(request);
        }
        if (dropped > 0) metrics.QueueDropped(teacher, dropped);
        request.Cancel(token);
    }

    // Under the lock: takes a queued request's untaken items out of the queue.
    private int Remove(TRequest request)
    {
        Requests.Remove(request);
        var untaken = request.Remaining;
        Queued -= untaken;
        removed?.Invoke(request);
        metrics.QueueChanged(teacher, -untaken);
        AdmitWaiting();
        return untaken;
    }

    private sealed class Watching(CancellationTokenRegistration cancellation, Timer? expiry) : IDisposable
    {
        public void Dispose()
        {
            cancellation.Dispose();
            expiry?.Dispose();
        }
    }
}
