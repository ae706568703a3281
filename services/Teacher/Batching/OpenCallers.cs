namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// The open streams a batcher has seen, and how many of them have nothing queued: while one has
/// nothing queued, it may send at any moment and a forward is worth delaying for it (MaxDelay);
/// once none has, nobody else could join and the forward starts at once. A stream counts from its
/// first request until it ends (<see cref="Caller.Ended"/>). Used under its batcher's lock
/// (<paramref name="gate"/>), which it pulses when a stream ends.
/// </summary>
internal sealed class OpenCallers(object gate) : IDisposable
{
    private readonly Dictionary<Caller, State> callers = new(ReferenceEqualityComparer.Instance);
    private int busy;

    /// <summary>Every open stream seen has a request here that is not over.</summary>
    public bool NoneIdle => busy == callers.Count;

    /// <summary>One more request of its caller is here (unless the stream has already ended: then nobody waits for it).</summary>
    public void Arrive(IQueuedRequest request)
    {
        var caller = request.Caller;
        if (caller.Ended.IsCancellationRequested) return;
        if (!callers.TryGetValue(caller, out var state))
        {
            callers.Add(caller, state = new State());
            state.Ended = caller.Ended.Register(() => Forget(caller));
            // The stream ended since the check above: Register ran Forget at once, here (the lock is re-entrant).
            if (!callers.ContainsKey(caller)) return;
        }
        if (state.Requests++ == 0) busy++;
        request.Counted = true;
    }

    /// <summary>A request is over (answered, refused, failed or abandoned); counted once, however many ways it ends.</summary>
    public void Leave(IQueuedRequest request)
    {
        if (!request.Counted) return;
        request.Counted = false;
        if (callers.TryGetValue(request.Caller, out var state) && --state.Requests == 0) busy--;
    }

    // Registrations are unregistered, not disposed: Dispose would wait for a Forget running on another
    // thread, which waits for this lock.
    public void Dispose()
    {
        lock (gate)
        {
            foreach (var state in callers.Values) state.Ended.Unregister();
            callers.Clear();
            busy = 0;
        }
    }

    private void Forget(Caller caller)
    {
        lock (gate)
        {
            if (!callers.Remove(caller, out var state)) return;
            if (state.Requests > 0) busy--;
            state.Ended.Unregister();
            Monitor.PulseAll(gate);
        }
    }

    private sealed class State
    {
        // Its requests that arrived and are not over.
        public int Requests;
        public CancellationTokenRegistration Ended;
    }
}
