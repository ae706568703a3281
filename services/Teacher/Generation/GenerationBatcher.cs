using System.Diagnostics;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Generation;

/// <summary>
/// Batched generation for one language-model teacher version. Samples of every Generate call, from
/// every client, wait in one queue; a single thread continues up to MaxBatch of them at once with
/// <see cref="BatchGenerator"/>, or what is there once the oldest has waited MaxDelay. Each run's
/// room is dealt round-robin between the callers with samples waiting, so a call asking for
/// thousands of samples does not hold back a small one for more than a run. A sample whose caller
/// went away before its run is dropped, not generated.
/// </summary>
public sealed class GenerationBatcher : IDisposable
{
    private readonly LoadedTeacher teacher;
    private readonly TeacherMetrics metrics;
    private readonly int maxBatch;
    private readonly long maxDelayTicks;
    private readonly object gate = new();
    // Callers with samples waiting, in the order their turn comes, each with its samples in order.
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
        maxDelayTicks = options.MaxDelayMs * Stopwatch.Frequency / 1000;
        // A thread of its own: a run is long, synchronous and uses thread-bound dispose scopes.
        thread = new Thread(Run) { IsBackground = true, Name = $"generation {teacher.Name}@{teacher.Version}" };
        thread.Start();
    }

    /// <summary>
    /// What <paramref name="row"/> continues to, ended early at the first of <paramref name="stop"/>
    /// it writes (a stop test that decodes the row's tokens); <paramref name="caller"/> (one object per call) gets fair turns.
    /// </summary>
    public Task<GenerationResult> GenerateAsync(GenerationRow row, Func<IReadOnlyList<int>, bool>? stop, object caller, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var sample = new PendingSample(row, stop, cancellationToken);
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
        // A cancelled sample is dropped when its turn comes; its caller stops waiting at once.
        cancellationToken.Register(() => sample.Result.TrySetCanceled(cancellationToken));
        return sample.Result.Task;
    }

    private void Run()
    {
        while (Take() is { } run)
        {
            var live = run.Where(s => !s.CancellationToken.IsCancellationRequested).ToArray();
            if (live.Length == 0) continue;
            try
            {
                long started = Stopwatch.GetTimestamp();
                var results = teacher.Generate(live.Select(s => s.Row).ToArray(),
                    (row, tokens) => live[row].Stop?.Invoke(tokens) ?? false, CancellationToken.None);
                metrics.GenerationRun(teacher.Name, live.Length, Stopwatch.GetElapsedTime(started));
                for (int i = 0; i < live.Length; i++) live[i].Result.TrySetResult(results[i]);
            }
            catch (Exception e)
            {
                foreach (var sample in live) sample.Result.TrySetException(e);
            }
        }
    }

    // The next run's samples, once MaxBatch are waiting or the oldest has waited MaxDelay; null when stopped and empty.
    private List<PendingSample>? Take()
    {
        lock (gate)
        {
            while (true)
            {
                if (waiting == 0)
                {
                    if (stopping) return null;
                    Monitor.Wait(gate);
                    continue;
                }
                long waited = Stopwatch.GetTimestamp() - oldestTicks;
                if (waiting >= maxBatch || waited >= maxDelayTicks || stopping) break;
                Monitor.Wait(gate, TimeSpan.FromSeconds((double)(maxDelayTicks - waited) / Stopwatch.Frequency));
            }
            var run = new List<PendingSample>(Math.Min(waiting, maxBatch));
            // Round-robin: one sample of each caller in turn, the next run starting where this one stopped.
            while (run.Count < maxBatch && callers.First is { } node)
            {
                callers.RemoveFirst();
                run.Add(node.Value.Samples.Dequeue());
                if (node.Value.Samples.Count > 0) callers.AddLast(node);
            }
            waiting -= run.Count;
            oldestTicks = Stopwatch.GetTimestamp();
            return run;
        }
    }

    /// <summary>Lets the queued samples run, then ends the thread (the version is being retired).</summary>
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

    private sealed class PendingSample(GenerationRow row, Func<IReadOnlyList<int>, bool>? stop, CancellationToken cancellationToken)
    {
        public GenerationRow Row { get; } = row;
        public Func<IReadOnlyList<int>, bool>? Stop { get; } = stop;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource<GenerationResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
