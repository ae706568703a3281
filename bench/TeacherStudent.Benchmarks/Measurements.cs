using System.Diagnostics;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Training;
using TorchSharp;

namespace TeacherStudent.Benchmarks;

/// <summary>
/// The measurements themselves. Every pass uses a temperature no other pass uses, so the
/// teacher's cache never answers where a forward is meant to be measured.
/// </summary>
public sealed class Measurements(ImageDataset images)
{
    private float temperature = 1f;

    /// <summary>A temperature not used before in this run (the cache key includes T).</summary>
    public float FreshTemperature() => temperature += 1e-3f;

    /// <summary>The pixels of <paramref name="count"/> consecutive images starting at <paramref name="start"/> (wrapping).</summary>
    public ReadOnlyMemory<byte> Pixels(int start, int count)
    {
        start %= images.Count - count;
        return images.Pixels.AsMemory(start * images.ExampleSize, count * images.ExampleSize);
    }

    // torch's threads in this process as it started (OMP_NUM_THREADS, else one per core). Every
    // in-process pass sets its own threads' share explicitly: a thread takes torch's last global
    // setting when it first runs torch, and awaits move the benchmark between pool threads.
    private readonly int torchThreads = torch.get_num_threads();

    /// <summary>torch's threads in this process (OMP_NUM_THREADS, else one per core).</summary>
    public int TorchThreads => torchThreads;

    /// <summary>Examples per second of the in-process forward (log-probs copied out) at one batch size, one forward at a time on every thread.</summary>
    public double InProcess(ModelSoftTargetSource model, int batchSize, int batches)
    {
        torch.set_num_threads(torchThreads);
        var clock = Stopwatch.StartNew();
        for (int b = 0; b < batches; b++) model.LogProbs(Pixels(b * batchSize, batchSize).Span, batchSize);
        return batchSize * batches / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Examples per second of the in-process forward at one batch size run as the service runs a
    /// teacher of several instances: one thread per copy of the model, each running forwards at
    /// the same time on its own batches with an equal share of torch's threads.
    /// </summary>
    public double InProcessCopies(IReadOnlyList<ModelSoftTargetSource> copies, int batchSize, int batches)
    {
        int each = Math.Max(1, batches / copies.Count), threadsEach = Math.Max(1, torchThreads / copies.Count);
        var workers = copies.Select((model, c) => new Thread(() =>
        {
            torch.set_num_threads(threadsEach);
            for (int b = 0; b < each; b++) model.LogProbs(Pixels((c * each + b) * batchSize, batchSize).Span, batchSize);
        })).ToArray();
        var clock = Stopwatch.StartNew();
        foreach (var worker in workers) worker.Start();
        foreach (var worker in workers) worker.Join();
        return batchSize * each * copies.Count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Examples per second through one SoftTargets stream, <paramref name="inFlight"/> batches unanswered.</summary>
    public async Task<double> OneStreamAsync(string address, int batchSize, int batches, int inFlight, CancellationToken cancellationToken)
    {
        await using var student = new BenchStudent(address);
        var inputs = Enumerable.Range(0, batches).Select(b => Pixels(b * batchSize, batchSize)).ToArray();
        float t = FreshTemperature();
        var clock = Stopwatch.StartNew();
        var replies = await student.StreamAsync(inputs, batchSize, t, inFlight, cancellationToken);
        var seconds = clock.Elapsed.TotalSeconds;
        if (replies.Sum(r => r.CacheHits) != 0) throw new InvalidOperationException("a pass meant to compute was answered from the cache.");
        return batchSize * batches / seconds;
    }

    /// <summary>
    /// Examples per second over several students at once, each its own connection and stream,
    /// each keeping up to <paramref name="inFlight"/> batches unanswered.
    /// </summary>
    public async Task<double> SendingAheadAsync(string address, int students, int batchSize, int batchesEach, int inFlight,
        CancellationToken cancellationToken)
    {
        var clients = new List<BenchStudent>();
        for (int s = 0; s < students; s++) clients.Add(new BenchStudent(address));
        try
        {
            // One warm-up round opens every connection before the clock starts.
            await Task.WhenAll(clients.Select((c, s) => c.AskAsync(Pixels(s * batchSize, batchSize), batchSize, FreshTemperature(), cancellationToken)));
            float t = FreshTemperature();
            var clock = Stopwatch.StartNew();
            var replies = await Task.WhenAll(clients.Select((client, s) =>
                client.StreamAsync(Enumerable.Range(0, batchesEach).Select(b => Pixels((s * batchesEach + b) * batchSize, batchSize)).ToArray(),
                    batchSize, t, inFlight, cancellationToken)));
            var seconds = clock.Elapsed.TotalSeconds;
            if (replies.Sum(r => r.Sum(x => x.CacheHits)) != 0) throw new InvalidOperationException("a pass meant to compute was answered from the cache.");
            return students * batchesEach * batchSize / seconds;
        }
        finally
        {
            foreach (var c in clients) await c.DisposeAsync();
        }
    }

    /// <summary>
    /// Several students at once, each its own connection and stream, each sending one batch and
    /// waiting for its answer before the next; returns examples per second over all of them and
    /// every round-trip time in milliseconds.
    /// </summary>
    public async Task<(double ExamplesPerSecond, List<double> LatenciesMs)> ConcurrentAsync(
        string address, int students, int batchSize, int batchesEach, CancellationToken cancellationToken)
    {
        var clients = new List<BenchStudent>();
        for (int s = 0; s < students; s++) clients.Add(new BenchStudent(address));
        try
        {
            float t = FreshTemperature();
            // One warm-up round opens every connection before the clock starts.
            await Task.WhenAll(clients.Select((c, s) => c.AskAsync(Pixels(s * batchSize, batchSize), batchSize, FreshTemperature(), cancellationToken)));
            var latencies = new List<double>();
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(clients.Select(async (client, s) =>
            {
                var mine = new List<double>(batchesEach);
                for (int b = 0; b < batchesEach; b++)
                {
                    var (reply, latency) = await client.AskAsync(Pixels((s * batchesEach + b) * batchSize, batchSize), batchSize, t, cancellationToken);
                    if (reply.CacheHits != 0) throw new InvalidOperationException("a pass meant to compute was answered from the cache.");
                    mine.Add(latency.TotalMilliseconds);
                }
                lock (latencies) latencies.AddRange(mine);
            }));
            return (students * batchesEach * batchSize / clock.Elapsed.TotalSeconds, latencies);
        }
        finally
        {
            foreach (var c in clients) await c.DisposeAsync();
        }
    }
}
