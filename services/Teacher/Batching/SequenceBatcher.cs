using System.Diagnostics;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// The batcher of one language-model teacher version: <see cref="DynamicBatcher"/>'s design with
/// sequences for examples and tokens for room. The sequences of every request, from every stream,
/// go into one bounded queue; the forward thread runs the model on up to
/// <see cref="BatchingOptions.MaxTokens"/> tokens of them, or on what is there once the oldest has
/// waited MaxDelay, or at once when no stream could add to it (<see cref="OpenCallers"/>), whichever
/// comes first, and hands every sequence's targets back to its request.
/// Sequences of different lengths, temperatures, k and kinds share a forward
/// (<see cref="SequenceTargets.ComputeMany"/>: one forward per length, one top-k per k).
/// <para>
/// Fairness, in tokens: each forward's room is split between the callers (streams) with queued
/// sequences in max-min fair shares (<see cref="FairShare"/>), and a caller's share goes to its
/// sequences in the order they came. A sequence is never split, so a share too small for the next
/// one is carried to that caller's next forward, and the room no share could use is filled with
/// whole sequences, the callers with most carried first (deficit round robin): over a few forwards
/// every caller gets its share of tokens. A request larger than MaxTokens is spread over several
/// forwards; a single sequence longer than MaxTokens runs in a forward of its own.
/// </para>
/// <para>
/// The queue holds <see cref="BatchingOptions.QueueCapacity"/> sequences (<see cref="BatchQueue{TRequest}"/>:
/// a request that does not fit waits for room until its call's deadline, and is then refused; a caller
/// that goes away takes its queued sequences with it).
/// </para>
/// </summary>
public sealed class SequenceBatcher : IVersionBatcher
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    private readonly LoadedTeacher teacher;
    private readonly TeacherMetrics metrics;
    private readonly int maxTokens;
    private readonly long maxDelayTicks;
    private readonly BatchQueue<QueuedSequences> queue;
    private readonly object gate;
    // Tokens a caller was owed (or, negative, given beyond its share) by earlier forwards; kept while it has sequences queued.
    private readonly Dictionary<Caller, int> carried = new(ReferenceEqualityComparer.Instance);
    private readonly Thread thread;

    public SequenceBatcher(LoadedTeacher teacher, BatchingOptions options, TeacherMetrics metrics)
    {
        if (teacher.Language is null) throw new ArgumentException($"teacher '{teacher.Name}' is not a language model.", nameof(teacher));
        this.teacher = teacher;
        this.metrics = metrics;
        maxTokens = options.MaxTokens;
        maxDelayTicks = options.MaxDelayMs * Stopwatch.Frequency / 1000;
        queue = new BatchQueue<QueuedSequences>(teacher.Name, "sequences", options.QueueCapacity, metrics, Forget);
        gate = queue.Gate;
        // A language model is one copy, so one thread: forwards are long, synchronous and use thread-bound dispose scopes.
        thread = new Thread(Run) { IsBackground = true, Name = $"sequence batcher {teacher.Name}@{teacher.Version}" };
        thread.Start();
    }

    /// <summary>The teacher version this batcher runs.</summary>
    public LoadedTeacher Teacher => teacher;

    /// <summary>The targets of every sequence, in order, computed in forwards shared with other requests.</summary>
    /// <param name="caller">Who asks (one per stream): forwards are shared fairly between callers.</param>
    /// <param name="deadline">The call's deadline (UTC; <see cref="DateTime.MaxValue"/> for none): waiting for room in the queue ends a little before it.</param>
    /// <exception cref="TeacherBusyException">the queue stayed full until the deadline.</exception>
    /// <exception cref="OperationCanceledException">the caller went away; its queued sequences were dropped.</exception>
    public async Task<SequenceTargetBatch[]> ScoreAsync(IReadOnlyList<SequenceToScore> sequences, Caller caller, DateTime deadline,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var request = new QueuedSequences(sequences, caller);
        // Retired or shutting down: this request runs on its own, as with batching off.
        if (!queue.TryArrive(request))
        {
            var started = Stopwatch.GetTimestamp();
            var targets = await teacher.ScoreSequencesAsync(sequences, cancellationToken);
            metrics.Forward(teacher.Name, sequences.Count, Stopwatch.GetElapsedTime(started));
            metrics.ForwardTokens(teacher.Name, sequences.Sum(s => s.Length));
            return targets;
        }

        using var watch = queue.Watch(request, deadline, cancellationToken);
        return await request.Answer.Task;
    }

    /// <summary>Stops taking requests once the queue is empty; later ones run on their own.</summary>
    public void Stop() => queue.Stop();

    public void Dispose()
    {
        Stop();
        thread.Join(DrainTimeout);
        queue.Dispose();
    }

    // Under the lock: a queued request left untaken (its caller went away); what its caller was owed goes with its last.
    private void Forget(QueuedSequences request)
    {
        if (!queue.Requests.Any(r => ReferenceEquals(r.Caller, request.Caller))) carried.Remove(request.Caller);
    }

    private void Run()
    {
        while (NextBatch() is { } batch) Forward(batch);
    }

    private List<(QueuedSequences Request, int Index)>? NextBatch()
    {
        lock (gate)
        {
            while (true)
            {
                if (queue.Queued == 0)
                {
                    if (queue.StoppedWhenEmpty()) return null;
                    Monitor.Wait(gate);
                    continue;
                }
                if (QueuedTokens() >= maxTokens || queue.Stopping || queue.Callers.NoneIdle) break;
                var dueIn = queue.Requests[0].QueuedAt + maxDelayTicks - Stopwatch.GetTimestamp();
                if (dueIn <= 0) break;
                Monitor.Wait(gate, (int)Math.Ceiling(dueIn * 1000.0 / Stopwatch.Frequency));
            }
            return Take();
        }
    }

    // Under the lock.
    private int QueuedTokens()
    {
        var tokens = 0;
        foreach (var request in queue.Requests) tokens += request.RemainingTokens;
        return tokens;
    }

    // Under the lock: the next forward's sequences, whole, up to MaxTokens (fairness: see the class).
    private List<(QueuedSequences Request, int Index)> Take()
    {
        // Callers in the order of their oldest queued request, with the tokens they still want.
        var callers = new List<Caller>();
        var index = new Dictionary<Caller, int>(ReferenceEqualityComparer.Instance);
        var demands = new List<int>();
        foreach (var request in queue.Requests)
        {
            if (!index.TryGetValue(request.Caller, out var c))
            {
                index.Add(request.Caller, c = callers.Count);
                callers.Add(request.Caller);
                demands.Add(0);
            }
            demands[c] += request.RemainingTokens;
        }
        var allowance = FairShare.Split(demands, maxTokens);
        for (int c = 0; c < callers.Count; c++) allowance[c] += carried.GetValueOrDefault(callers[c]);

        var batch = new List<(QueuedSequences, int)>();
        var room = maxTokens;
        // First each caller's share, then the room left by sequences too long for a share, most owed first.
        TakeInOrder(Enumerable.Range(0, callers.Count), withinAllowance: true);
        TakeInOrder(Enumerable.Range(0, callers.Count).OrderByDescending(c => allowance[c]), withinAllowance: false);
        // Only a sequence longer than the whole budget is left: it runs alone.
        if (batch.Count == 0) Take(queue.Requests[0], index[queue.Requests[0].Caller]);

        var now = Stopwatch.GetTimestamp();
        foreach (var (request, i) in batch)
            if (i == 0) metrics.QueueWaited(teacher.Name, Stopwatch.GetElapsedTime(request.Arrived, now));
        var stillQueued = queue.Requests.Where(r => r.Remaining > 0).Select(r => r.Caller).ToHashSet(ReferenceEqualityComparer.Instance);
        // What a caller was owed or overdrawn carries over while it still waits; it starts afresh when next it comes.
        for (int c = 0; c < callers.Count; c++)
        {
            if (stillQueued.Contains(callers[c])) carried[callers[c]] = Math.Clamp(allowance[c], -maxTokens, maxTokens);
            else carried.Remove(callers[c]);
        }
        queue.Took(batch.Count);
        return batch;

        // Each caller's requests in arrival order, each request's sequences in order, until one does not fit.
        void TakeInOrder(IEnumerable<int> order, bool withinAllowance)
        {
            foreach (var c in order)
            {
                foreach (var request in queue.Requests)
                {
                    if (!ReferenceEquals(request.Caller, callers[c])) continue;
                    while (request.Remaining > 0 && request.NextLength <= room && (!withinAllowance || request.NextLength <= allowance[c]))
                        Take(request, c);
                    if (request.Remaining > 0) break;
                }
            }
        }

        void Take(QueuedSequences request, int c)
        {
            var length = request.NextLength;
            batch.Add((request, request.TakeNext()));
            allowance[c] -= length;
            room -= length;
        }
    }

    private void Forward(List<(QueuedSequences Request, int Index)> batch)
    {
        var started = Stopwatch.GetTimestamp();
        SequenceTargetBatch[] results;
        try
        {
            results = teacher.ScoreSequences(batch.ConvertAll(b => b.Request.Sequences[b.Index]));
        }
        catch (Exception e)
        {
            queue.Fail(batch.Select(b => b.Request), e);
            return;
        }
        metrics.Forward(teacher.Name, batch.Count, Stopwatch.GetElapsedTime(started));
        metrics.ForwardTokens(teacher.Name, batch.Sum(b => b.Request.Sequences[b.Index].Length));
        for (int j = 0; j < batch.Count; j++) batch[j].Request.Results[batch[j].Index] = results[j];
        // An abandoned request's sequences are computed (they were in this forward) but go nowhere.
        foreach (var group in batch.GroupBy(b => b.Request))
        {
            if (!group.Key.Complete(group.Count())) continue;
            queue.Answered(group.Key);
            group.Key.Answer.TrySetResult(group.Key.Results);
        }
    }
}
