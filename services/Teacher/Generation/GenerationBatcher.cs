using System.Diagnostics;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Teacher.Batching;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Generation;

/// <summary>
/// Continuous batching for one language-model teacher version. Samples of every Generate call, from
/// every client, wait in one queue; a single thread runs one <see cref="ContinuousBatch"/> and, before
/// every decoding step, lets waiting samples join it: in round-robin turns between the callers with
/// samples waiting (so a call asking for thousands does not hold back a small one), up to MaxBatch
/// rows, while the key-value cache stays within MaxKvTokens (each sample reserves its prompt and
/// max_new_tokens; the cache, padding included, holds no more). A sample that finishes leaves at once
/// and its caller gets it; a sample whose caller went away leaves at the next step. A sample still
/// waiting a little before its call's deadline is refused (<see cref="TeacherBusyException"/>,
/// RESOURCE_EXHAUSTED). When nothing runs, the first sample waits up to MaxDelay for others, so that
/// their prompts are read in one forward. The model is held for one step at a time, so SoftTargets
/// forwards of the same teacher run between steps.
/// </summary>
public sealed class GenerationBatcher : IVersionBatcher
{
    private readonly LoadedTeacher teacher;
    private readonly TeacherMetrics metrics;
    private readonly int maxBatch, maxKvTokens, context;
    private readonly bool sharePrompts;
    private readonly long maxDelayTicks;
    private readonly object gate = new();
    // Callers with samples waiting, in the order their turn comes, each with its samples in order
    // (a sample refused or abandoned stays in its queue, no longer waiting, until its turn comes).
    private readonly LinkedList<(object Caller, Queue<PendingSample> Samples)> callers = new();
    private readonly Thread thread;
    private int waiting;
    private long oldestTicks;
    private bool stopping;

    public GenerationBatcher(LoadedTeacher teacher, GenerationOptions options, TeacherMetrics metrics)
    {
        this.teacher = teacher;
        this.metrics = metrics;
        maxBatch = options.MaxBatch;
        maxKvTokens = options.MaxKvTokens;
        sharePrompts = options.SharePrompts;
        maxDelayTicks = options.MaxDelayMs * Stopwatch.Frequency / 1000;
        context = teacher.Language?.ContextLength ?? throw new ArgumentException($"teacher '{teacher.Name}' is not a language model.", nameof(teacher));
        // A thread of its own: steps are synchronous and use thread-bound dispose scopes.
        thread = new Thread(Run) { IsBackground = true, Name = $"generation {teacher.Name}@{teacher.Version}" };
        thread.Start();
    }

    /// <summary>Key-value tokens the rows of this version may take at once (Generation:MaxKvTokens).</summary>
    public int MaxKvTokens => maxKvTokens;

    /// <summary>The key-value tokens <paramref name="row"/> reserves: its prompt and new tokens, clipped at the context.</summary>
    public int Reservation(GenerationRow row) => ContinuousBatch.Reservation(row, context);

    /// <summary>
    /// What <paramref name="row"/> continues to, ended early at the first of <paramref name="stop"/>
    /// it writes (a stop test that decodes the row's tokens); <paramref name="caller"/> (one object per call) gets fair turns.
    /// </summary>
    /// <param name="deadline">The call's deadline (UTC; <see cref="DateTime.MaxValue"/> for none): waiting to join ends a little before it.</param>
    /// <exception cref="ArgumentException">the row reserves more than <see cref="MaxKvTokens"/>: it could never run.</exception>
    /// <exception cref="TeacherBusyException">the row was still waiting to join at its deadline.</exception>
    public async Task<GenerationResult> GenerateAsync(GenerationRow row, Func<IReadOnlyList<int>, bool>? stop, object caller, DateTime deadline,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        int reservation = Reservation(row);
        if (reservation > maxKvTokens)
            throw new ArgumentException($"a sample of {reservation} key-value tokens never fits teacher '{teacher.Name}''s {maxKvTokens}.", nameof(row));
        var sample = new PendingSample(row, stop, reservation, cancellationToken);
        lock (gate)
        {
            if (stopping) throw new ObjectDisposedException(nameof(GenerationBatcher), $"teacher {teacher.Name}@{teacher.Version} is no longer served.");
            var node = callers.First;
            while (node is not null && !ReferenceEquals(node.Value.Caller, caller)) node = node.Next;
            if (node is null) callers.AddLast((caller, new Queue<PendingSample>()));
            (node ?? callers.Last!).Value.Samples.Enqueue(sample);
            if (waiting++ == 0) oldestTicks = Stopwatch.GetTimestamp();
            Monitor.PulseAll(gate);
        }
        // A sample that leaves while waiting is no longer waiting; a running one leaves the batch at its next step.
        using var cancellation = cancellationToken.Register(() => Abandon(sample));
        using var refusal = QueueDeadline.RefuseAt(deadline, () => Refuse(sample));
        return await sample.Result.Task;
    }

    // The caller went away: a waiting sample is dropped at once; a running one is counted now and leaves the batch at its next step.
    private void Abandon(PendingSample sample)
    {
        lock (gate)
        {
            if (sample.State == SampleState.Over) return;
            if (sample.State == SampleState.Waiting) waiting--;
            sample.State = sample.State == SampleState.Waiting ? SampleState.Over : SampleState.Leaving;
        }
        metrics.GenerationDropped(teacher.Name, 1);
        sample.Result.TrySetCanceled(sample.CancellationToken);
    }

    private void Refuse(PendingSample sample)
    {
        lock (gate)
        {
            if (sample.State != SampleState.Waiting) return;
            sample.State = SampleState.Over;
            waiting--;
        }
        metrics.GenerationRefused(teacher.Name);
        sample.Result.TrySetException(new TeacherBusyException(
            $"teacher '{teacher.Name}' is busy: its key-value cache ({maxKvTokens} tokens) stayed full until this call's deadline; "
            + "ask again later, with a longer deadline, or for fewer samples at once."));
    }

    private void Run()
    {
        var batch = teacher.NewGenerationBatch(sharePrompts);
        var running = new Dictionary<BatchRow, PendingSample>(ReferenceEqualityComparer.Instance);
        long allocated = 0;
        try
        {
            while (Take(batch, running) is { } joining)
            {
                try
                {
                    if (joining.Count > 0) Admit(batch, joining, running);
                    Leave(batch, running);
                    if (batch.Count > 0)
                    {
                        Finish(batch.Draw(), running);
                        if (batch.Count > 0) metrics.GenerationStep(teacher.Name, batch.Count);
                        teacher.Exclusively(() =>
                        {
                            batch.Forward();
                            return 0;
                        });
                    }
                }
                catch (Exception e)
                {
                    // A failed step fails every sample in the batch; the next samples start a new one.
                    foreach (var sample in joining.Concat(running.Values).Distinct())
                    {
                        Release(sample);
                        sample.Result.TrySetException(e);
                    }
                    running.Clear();
                    batch.Dispose();
                    batch = teacher.NewGenerationBatch(sharePrompts);
                }
                metrics.KvAllocated(teacher.Name, batch.AllocatedTokens - allocated);
                allocated = batch.AllocatedTokens;
            }
        }
        finally
        {
            batch.Dispose();
            metrics.KvAllocated(teacher.Name, -allocated);
        }
    }

    private void Admit(ContinuousBatch batch, List<PendingSample> joining, Dictionary<BatchRow, PendingSample> running)
    {
        foreach (var sample in joining)
        {
            sample.Batched = new BatchRow(sample.Row, sample.Stop);
            running.Add(sample.Batched, sample);
            metrics.KvReserved(teacher.Name, sample.Reservation);
        }
        long started = Stopwatch.GetTimestamp(), read = batch.PromptTokensRead;
        var ended = teacher.Exclusively(() => batch.Admit(joining.ConvertAll(s => s.Batched!)));
        metrics.GenerationRun(teacher.Name, joining.Count, Stopwatch.GetElapsedTime(started));
        metrics.PromptsRead(teacher.Name, batch.PromptTokensRead - read);
        Finish(ended, running);
    }

    // Rows whose callers went away leave the batch before the next step.
    private void Leave(ContinuousBatch batch, Dictionary<BatchRow, PendingSample> running)
    {
        var gone = running.Values.Where(s => s.State == SampleState.Leaving).ToList();
        if (gone.Count == 0) return;
        batch.Remove(gone.ConvertAll(s => s.Batched!));
        foreach (var sample in gone)
        {
            running.Remove(sample.Batched!);
            Release(sample);
        }
    }

    private void Finish(IReadOnlyList<BatchRow> ended, Dictionary<BatchRow, PendingSample> running)
    {
        foreach (var row in ended)
        {
            if (!running.Remove(row, out var sample)) continue;
            Release(sample);
            sample.Result.TrySetResult(row.Result!);
        }
    }

    private void Release(PendingSample sample)
    {
        lock (gate)
        {
            if (sample.State is not (SampleState.Running or SampleState.Leaving)) return;
            sample.State = SampleState.Over;
        }
        metrics.KvReserved(teacher.Name, -sample.Reservation);
    }

    // The samples that join before the next step: none when nothing fits; null when stopped and nothing is left.
    // When nothing runs, waits for a sample, then up to MaxDelay for others to join with it.
    private List<PendingSample>? Take(ContinuousBatch batch, Dictionary<BatchRow, PendingSample> running)
    {
        lock (gate)
        {
            while (true)
            {
                if (waiting == 0)
                {
                    if (batch.Count > 0) return [];
                    if (stopping) return null;
                    Monitor.Wait(gate);
                    continue;
                }
                if (batch.Count > 0 || stopping) break;
                long waited = Stopwatch.GetTimestamp() - oldestTicks;
                if (waiting >= maxBatch || waited >= maxDelayTicks) break;
                Monitor.Wait(gate, TimeSpan.FromSeconds((double)(maxDelayTicks - waited) / Stopwatch.Frequency));
            }
            long reserved = running.Values.Sum(s => (long)s.Reservation);
            var joining = new List<PendingSample>();
            var rows = new List<GenerationRow>();
            // Round-robin, one sample of each caller in turn, the next step starting where this one stopped; the
            // first sample that does not fit waits for room, and the others behind it (no overtaking).
            while (batch.Count + joining.Count < maxBatch && callers.First is { } node)
            {
                var queue = node.Value.Samples;
                while (queue.Count > 0 && queue.Peek().State != SampleState.Waiting) queue.Dequeue();
                if (queue.Count == 0)
                {
                    callers.RemoveFirst();
                    continue;
                }
                var next = queue.Peek();
                if (reserved + next.Reservation > maxKvTokens) break;
                rows.Add(next.Row);
                if (batch.AllocationAfterAdmitting(rows) > maxKvTokens) break;
                reserved += next.Reservation;
                queue.Dequeue();
                next.State = SampleState.Running;
                waiting--;
                joining.Add(next);
                callers.RemoveFirst();
                if (queue.Count > 0) callers.AddLast(node);
            }
            oldestTicks = Stopwatch.GetTimestamp();
            return joining;
        }
    }

    /// <summary>Lets the queued and running samples finish, then ends the thread (the version is being retired).</summary>
    public void Stop()
    {
        lock (gate)
        {
            stopping = true;
            Monitor.PulseAll(gate);
        }
    }

    public void Dispose()
    {
        Stop();
        thread.Join(TimeSpan.FromSeconds(10));
    }

    // Waiting to join; in the batch; in the batch but its caller went away (it leaves at the next step); done.
    private enum SampleState { Waiting, Running, Leaving, Over }

    private sealed class PendingSample(GenerationRow row, Func<IReadOnlyList<int>, bool>? stop, int reservation, CancellationToken cancellationToken)
    {
        public GenerationRow Row { get; } = row;
        public Func<IReadOnlyList<int>, bool>? Stop { get; } = stop;
        public int Reservation { get; } = reservation;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource<GenerationResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        // Changed under the batcher's lock.
        public SampleState State { get; set; } = SampleState.Waiting;
        public BatchRow? Batched { get; set; }
    }
}
