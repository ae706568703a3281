using System.Diagnostics;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// The dynamic batcher of one teacher version. Examples of every request, from every stream and
/// client, go into one bounded queue; a forward thread runs the model on up to MaxBatch of them,
/// or on what is there once the oldest has waited MaxDelay, or at once when no stream could add to
/// it (every open stream it has seen has a request queued or in a forward: <see cref="OpenCallers"/>),
/// whichever comes first, and writes every row back into its own request's answer, in request order.
/// So a student alone that waits for each answer is not held MaxDelay for company that cannot come.
/// There is one forward thread per copy of the model (<see cref="LoadedTeacher.Instances"/>): while
/// one runs a forward, the next takes the next batch from the same queue.
/// <para>
/// Copies adapt to the load: a forward runs on the torch threads of the copies that will have
/// nothing to do while it runs. One forward alone (students that wait for each answer) runs on
/// every thread; with the queue deep enough for every copy, each forward runs on its share
/// (threads / copies), side by side. A forward starts only while some thread is free, so the
/// forwards of one teacher never ask for more threads than it has.
/// </para>
/// <para>
/// Fairness: each forward's room is split between the callers (streams) with queued examples in
/// max-min fair shares (<see cref="FairShare"/>), and a caller's share goes to its requests in
/// the order they came. So a small request always rides in the next forward, however large the
/// requests queued before it, and a greedy student gains nothing by sending many requests ahead:
/// its requests together get one caller's share. A request over MaxBatch is spread over several
/// forwards.
/// </para>
/// <para>
/// Requests with different temperatures and output dtypes share a forward: the logits are
/// computed once and each row gets its own request's temperature (<see cref="BatchForward"/>).
/// </para>
/// <para>
/// The queue holds <see cref="BatchingOptions.QueueCapacity"/> examples (<see cref="BatchQueue{TRequest}"/>:
/// a request that does not fit waits for room until its call's deadline; a caller that goes away takes
/// its queued examples with it).
/// </para>
/// </summary>
public sealed class DynamicBatcher : IVersionBatcher
{
    // At shutdown, what is queued gets this long to finish before the thread is left behind.
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    private readonly LoadedTeacher teacher;
    private readonly TeacherMetrics metrics;
    private readonly int maxBatch;
    private readonly long maxDelayTicks;
    private readonly BatchQueue<QueuedRequest> queue;
    private readonly object gate;
    private readonly Thread[] threads;
    // torch threads the forwards may use at once: the teacher's share of them, or one per copy when it has more copies than threads.
    private readonly int threadCapacity;
    // Forward threads waiting for work; torch threads the forwards running now were given.
    private int idleThreads, threadsInUse;

    /// <param name="torchThreads">torch threads the forwards of this teacher share (<see cref="TorchThreads.Total"/>).</param>
    public DynamicBatcher(LoadedTeacher teacher, BatchingOptions options, TeacherMetrics metrics, int torchThreads)
    {
        this.teacher = teacher;
        this.metrics = metrics;
        maxBatch = options.MaxBatch;
        maxDelayTicks = options.MaxDelayMs * Stopwatch.Frequency / 1000;
        queue = new BatchQueue<QueuedRequest>(teacher.Name, "examples", options.QueueCapacity, metrics);
        gate = queue.Gate;
        threadCapacity = Math.Max(torchThreads, teacher.Instances);
        // Threads of their own: forwards are long, synchronous and use thread-bound dispose scopes.
        threads = Enumerable.Range(0, teacher.Instances)
            .Select(i => new Thread(Run) { IsBackground = true, Name = $"batcher {teacher.Name}@{teacher.Version} #{i}" })
            .ToArray();
        foreach (var thread in threads) thread.Start();
    }

    /// <summary>Forward threads waiting for work (not running a forward).</summary>
    public int IdleForwardThreads
    {
        get
        {
            lock (gate) return idleThreads;
        }
    }

    /// <summary>The teacher version this batcher runs.</summary>
    public LoadedTeacher Teacher => teacher;

    /// <summary>
    /// log_softmax(logits / T) of <paramref name="inputs"/> as bytes of <paramref name="outputDType"/>,
    /// row-major [B, NumOutputs], computed in shared forwards.
    /// </summary>
    /// <param name="caller">Who asks (one per stream): forwards are shared fairly between callers.</param>
    /// <param name="deadline">The call's deadline (UTC; <see cref="DateTime.MaxValue"/> for none): waiting for room in the queue ends a little before it.</param>
    /// <exception cref="TeacherBusyException">the queue stayed full until the deadline.</exception>
    /// <exception cref="OperationCanceledException">the caller went away; its queued examples were dropped.</exception>
    public async Task<byte[]> LogProbsAsync(WireTensor inputs, float temperature, WireDType outputDType, Caller caller, DateTime deadline,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var request = new QueuedRequest(inputs, temperature, outputDType, teacher.NumOutputs, caller);
        // Retired or shutting down: this request runs on its own, as with batching off.
        if (!queue.TryArrive(request))
        {
            var started = Stopwatch.GetTimestamp();
            var logProbs = await teacher.LogProbsAsync(inputs, temperature, outputDType, cancellationToken);
            metrics.Forward(teacher.Name, request.Count, Stopwatch.GetElapsedTime(started));
            return logProbs;
        }

        using var watch = queue.Watch(request, deadline, cancellationToken);
        return await request.Answer.Task;
    }

    /// <summary>Stops taking requests once the queue is empty; later ones run on their own.</summary>
    public void Stop() => queue.Stop();

    public void Dispose()
    {
        Stop();
        var until = DateTime.UtcNow + DrainTimeout;
        foreach (var thread in threads) thread.Join(TimeSpan.FromTicks(Math.Max(0, (until - DateTime.UtcNow).Ticks)));
        queue.Dispose();
    }

    private void Run()
    {
        // A thread's first use of torch resets its setting to the process's last one (torch reads
        // it lazily, once per thread), so that first use comes before this thread sets its own.
        var current = TorchSharp.torch.get_num_threads();
        while (NextBatch() is { } next)
        {
            // Only this thread's setting (OpenMP's is per thread); a change is not free (torch drops
            // its cached convolution plans), so it is made only when the count changes.
            if (next.Threads != current) TorchSharp.torch.set_num_threads(current = next.Threads);
            metrics.ForwardThreads(teacher.Name, TorchSharp.torch.get_num_threads());
            Forward(next.Batch);
            lock (gate)
            {
                threadsInUse -= next.Threads;
                Monitor.PulseAll(gate);
            }
        }
    }

    private (List<(QueuedRequest Request, ForwardSlice Slice)> Batch, int Threads)? NextBatch()
    {
        lock (gate)
        {
            idleThreads++;
            while (true)
            {
                if (queue.Queued == 0)
                {
                    // Nobody waits for room while the queue is empty (it lets them in as it shrinks).
                    if (queue.StoppedWhenEmpty())
                    {
                        idleThreads--;
                        return null;
                    }
                    Monitor.Wait(gate);
                    continue;
                }
                // Every thread is taken by forwards running now: another would only slow them down.
                if (threadsInUse >= threadCapacity)
                {
                    Monitor.Wait(gate);
                    continue;
                }
                if (queue.Queued >= maxBatch || queue.Stopping || queue.Callers.NoneIdle) break;
                // The queue is in arrival order, so its head has waited longest.
                var dueIn = queue.Requests[0].QueuedAt + maxDelayTicks - Stopwatch.GetTimestamp();
                if (dueIn <= 0) break;
                Monitor.Wait(gate, (int)Math.Ceiling(dueIn * 1000.0 / Stopwatch.Frequency));
            }
            idleThreads--;
            var free = threadCapacity - threadsInUse;
            var batch = Take();
            // The idle copies that the examples left in the queue will set to work: the threads of
            // the others are this forward's too (one forward alone runs on every thread; with the
            // queue deep, each copy runs on its share).
            var othersStarting = queue.Queued == 0 ? 0 : Math.Min(idleThreads, (queue.Queued + maxBatch - 1) / maxBatch);
            var threads = Math.Max(1, free / (1 + othersStarting));
            threadsInUse += threads;
            return (batch, threads);
        }
    }

    // Under the lock: the next forward's examples, in fair shares per caller, each caller's
    // requests in arrival order, each request's examples in order.
    private List<(QueuedRequest Request, ForwardSlice Slice)> Take()
    {
        // Callers in the order of their oldest queued request, with all they still want.
        var callers = new Dictionary<object, int>(ReferenceEqualityComparer.Instance);
        var demands = new List<int>();
        foreach (var request in queue.Requests)
        {
            if (!callers.TryGetValue(request.Caller, out var c))
            {
                callers.Add(request.Caller, c = demands.Count);
                demands.Add(0);
            }
            demands[c] += request.Remaining;
        }
        var shares = FairShare.Split(demands, maxBatch);
        var now = Stopwatch.GetTimestamp();
        var batch = new List<(QueuedRequest, ForwardSlice)>();
        var taken = 0;
        foreach (var request in queue.Requests)
        {
            var c = callers[request.Caller];
            var share = Math.Min(shares[c], request.Remaining);
            if (share == 0) continue;
            shares[c] -= share;
            if (request.Taken == 0) metrics.QueueWaited(teacher.Name, Stopwatch.GetElapsedTime(request.Arrived, now));
            batch.Add((request, request.Take(share)));
            taken += share;
        }
        queue.Took(taken);
        return batch;
    }

    private void Forward(List<(QueuedRequest Request, ForwardSlice Slice)> batch)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            BatchForward.Run(teacher, batch.ConvertAll(b => b.Slice));
        }
        catch (Exception e)
        {
            queue.Fail(batch.Select(b => b.Request), e);
            return;
        }
        metrics.Forward(teacher.Name, batch.Sum(b => b.Slice.Count), Stopwatch.GetElapsedTime(started));
        foreach (var (request, slice) in batch)
        {
            // An abandoned request's rows are computed (they were in this forward) but go nowhere.
            if (!request.CompleteRows(slice.Count)) continue;
            queue.Answered(request);
            request.Answer.TrySetResult(request.Output);
        }
    }
}
