using System.Globalization;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.Benchmarks;

/// <summary>
/// The part "peer" (issue 15): the service beside a Python peer of the same contract (bench/peer/peer_server.py:
/// grpcio asyncio, Debian's torch on all cores, one dynamic batcher of up to MaxBatch examples or 2 ms) serving
/// the same ConvNet, under the four classifier loads of the issue, every request a cache miss.
/// </summary>
public sealed partial class ServingBenchmark
{
    /// <summary>One load: streams (a connection each), each sending batches of <paramref name="Batch"/> with up to <paramref name="InFlight"/> unanswered.</summary>
    private sealed record PeerLoad(string Name, int Streams, int Batch, int InFlight, int BatchesEach)
    {
        /// <summary>The largest forward the load lets a batcher build: what it is held against in process.</summary>
        public int Forward => Math.Min(MaxBatch, Streams * InFlight * Batch);

        public string How => $"{(Streams == 1 ? "one stream" : $"{Streams} streams")}, batches of {Batch}, " +
            $"{(InFlight == 1 ? "each waiting for its answer" : $"{InFlight} in flight")}{(Streams == 1 ? "" : " each")}";
    }

    private const int PeerWarmUpPasses = 2; // the peer has no JIT to settle: one pass loads its lazily built kernels

    private async Task PeerAsync(Measurements m, InProcessTeacher model, int scale, CancellationToken ct)
    {
        PeerLoad[] loads =
        [
            new("b256_3_in_flight", Streams: 1, Batch: 256, InFlight: 3, BatchesEach: 2 * scale),
            new("8_streams_b8_8_in_flight", Streams: 8, Batch: 8, InFlight: 8, BatchesEach: 8 * scale),
            new("b8_1_in_flight", Streams: 1, Batch: 8, InFlight: 1, BatchesEach: 16 * scale),
            new("8_streams_b8_1_in_flight", Streams: 8, Batch: 8, InFlight: 1, BatchesEach: 5 * scale),
        ];
        // The peer reads the ConvNet as a training run exports it for PyTorch, written here from the very checkpoint the service loads.
        using var export = new TemporaryDirectory("peer-teacher");
        var (spec, convnet) = Checkpoint.Load(settings.ConvNetCheckpoint, CPU);
        using (convnet) ClassifierExport.Save(export.Path, spec, convnet, FashionMnist.ClassNames);
        using var service = await StartAsync(settings.ConvNetCheckpoint);
        using var peer = await PeerServer.StartAsync(export.Path, threads: Environment.ProcessorCount, MaxBatch, maxDelayMs: 2);
        Console.WriteLine($"  {peer.Banner}");

        var forwards = loads.Select(l => l.Forward).Distinct().Order().ToArray();
        var limits = forwards.ToDictionary(n => n, _ => new InProcessLimits());
        int LimitBatches(int n) => Math.Max(2 * Instances, 256 * scale / n);
        var ours = loads.ToDictionary(l => l, _ => new Sample());
        var theirs = loads.ToDictionary(l => l, _ => new Sample());
        foreach (var n in forwards) InProcessLimits.WarmUp(m, model, n, LimitBatches(n));
        foreach (var load in loads)
        {
            for (int w = 0; w < WarmUpPasses; w++) await RunAsync(m, service.Address, load, ct);
            for (int w = 0; w < PeerWarmUpPasses; w++) await RunAsync(m, peer.Address, load, ct);
        }
        for (int r = 0; r < settings.Repeats; r++)
        {
            foreach (var n in forwards) limits[n].Measure(m, model, n, LimitBatches(n));
            foreach (var load in loads)
            {
                // Each side goes first in every other repeat, so that a drift of the machine's speed falls on both.
                (string Address, Sample Sample)[] sides = [(service.Address, ours[load]), (peer.Address, theirs[load])];
                if (r % 2 == 1) Array.Reverse(sides);
                foreach (var (address, sample) in sides) sample.Add(await RunAsync(m, address, load, ct));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  peer repeat {r + 1} ({load.Name}): served {ours[load].Rates[^1]:0}, peer {theirs[load].Rates[^1]:0} examples/s; in process at {load.Forward} {limits[load.Forward].Latest:0}"));
            }
        }

        foreach (var n in forwards)
            Add($"in_process_best_examples_per_second_b{n}", limits[n].Best, "examples/s", "reported",
                $"convnet: forward + log_softmax at batch {n}, the faster of one forward at a time on all threads and {Instances} copies at once");
        foreach (var load in loads)
        {
            double served = Statistics.Median(ours[load].Rates), other = Statistics.Median(theirs[load].Rates), limit = limits[load.Forward].Best;
            var how = $"convnet, {load.How}, every request a cache miss";
            Add($"served_examples_per_second_{load.Name}", served, "examples/s", "reported", $"{how}; the service, {Instances} instances, MaxBatch {MaxBatch}, 2 ms");
            Add($"peer_examples_per_second_{load.Name}", other, "examples/s", "reported", $"{how}; the Python peer, one forward at a time on {Environment.ProcessorCount} torch threads, up to {MaxBatch} examples or 2 ms");
            Add($"peer_ratio_{load.Name}", served / other, "ratio", ">= 1", $"{how}; service / Python peer");
            Add($"served_vs_in_process_{load.Name}", served / limit, "ratio", ">= 0.9", $"{how}; service / in-process at batch {load.Forward}, the largest forward the load allows");
            Add($"peer_vs_in_process_{load.Name}", other / limit, "ratio", "reported", $"{how}; Python peer / in-process at batch {load.Forward}");
            if (load.InFlight != 1) continue;
            Add($"served_latency_p50_ms_{load.Name}", Statistics.Percentile(ours[load].LatenciesMs, 0.5), "ms", "reported", $"{how}; the service, round trip of a batch");
            Add($"peer_latency_p50_ms_{load.Name}", Statistics.Percentile(theirs[load].LatenciesMs, 0.5), "ms", "reported", $"{how}; the Python peer, round trip of a batch");
        }
    }

    // One pass of a load; round-trip times only where every stream waits for each answer.
    private static async Task<(double Rate, List<double> LatenciesMs)> RunAsync(Measurements m, string address, PeerLoad load, CancellationToken ct) =>
        load.InFlight == 1 ? await m.ConcurrentAsync(address, load.Streams, load.Batch, load.BatchesEach, ct)
        : load.Streams == 1 ? (await m.OneStreamAsync(address, load.Batch, load.BatchesEach, load.InFlight, ct), [])
        : (await m.SendingAheadAsync(address, load.Streams, load.Batch, load.BatchesEach, load.InFlight, ct), []);

    /// <summary>One side's passes of one load.</summary>
    private sealed class Sample
    {
        public List<double> Rates { get; } = [];
        public List<double> LatenciesMs { get; } = [];

        public void Add((double Rate, List<double> LatenciesMs) pass)
        {
            Rates.Add(pass.Rate);
            LatenciesMs.AddRange(pass.LatenciesMs);
        }
    }
}
