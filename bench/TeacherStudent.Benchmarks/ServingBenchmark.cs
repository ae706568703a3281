using System.Globalization;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Training;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.Benchmarks;

/// <summary>What to measure with.</summary>
/// <param name="Only">Parts to run (see <see cref="Parts"/>); empty = all.</param>
public sealed record BenchSettings(string ConvNetCheckpoint, string MlpCheckpoint, string DataDirectory, string TeacherDll, int Repeats, bool Quick,
    IReadOnlySet<string> Only)
{
    /// <summary>The parts of the benchmark, in the order they run: the classifier's, then the language models'.</summary>
    public static readonly IReadOnlyList<string> Parts = ["serving", "batching", "waiting", "latency", "cache", "peer", "mlp", "lm", "generate", "prefix", "onpolicy"];

    /// <summary>The language-model parts (<see cref="LanguageModelBenchmark"/>).</summary>
    public static readonly IReadOnlySet<string> LanguageParts = new HashSet<string> { "lm", "generate", "prefix", "onpolicy" };

    /// <summary>Whether any classifier part (<see cref="ServingBenchmark"/>) is to be run.</summary>
    public bool RunsClassifiers => Parts.Except(LanguageParts).Any(Runs);

    /// <summary>Whether any language-model part is to be run.</summary>
    public bool RunsLanguageModels => LanguageParts.Any(Runs);

    /// <summary>Whether <paramref name="part"/> is to be run.</summary>
    public bool Runs(string part) => Only.Count == 0 || Only.Contains(part);
}

/// <summary>
/// The serving figures of issue 3, each measured side by side in one run against its reference,
/// each a median over repeats that alternate the two sides.
/// </summary>
public sealed partial class ServingBenchmark(BenchSettings settings)
{
    private const int MaxBatch = 256;      // the batcher's MaxBatch, and the in-process limit it is held against
    private const int StudentBatch = 8;    // what each of the concurrent students sends
    private const int Students = 8;
    private const int SentAhead = 8;       // batches each student keeps unanswered: the service's default Streams:MaxInFlight
    private const int CacheRounds = 5;     // times each measured cache pass goes over its examples
    private const int WarmUpPasses = 5;    // untimed passes of a served measurement before its repeats
    // Copies of the teacher the service holds (Teacher:Instances), one per core: on a CPU,
    // forwards of one thread each, side by side, are not held up by the request handling that
    // shares the cores the way one forward spread over every core is.
    private static readonly int Instances = Math.Clamp(Environment.ProcessorCount, 1, 64); // Teacher:Instances allows up to 64

    private readonly List<Figure> figures = [];

    public async Task<IReadOnlyList<Figure>> RunAsync(CancellationToken cancellationToken)
    {
        if (!settings.RunsClassifiers) return figures;
        var images = FashionMnist.LoadTrain(settings.DataDirectory);
        var m = new Measurements(images);
        int scale = settings.Quick ? 1 : 10;

        using (var convnet = InProcessTeacher.Load(settings.ConvNetCheckpoint, Instances))
        {
            if (settings.Runs("serving")) await PartClock.TimeAsync("serving", () => ServingOverheadAsync(m, convnet, batches: 10 * scale, cancellationToken));
            if (settings.Runs("batching"))
                await PartClock.TimeAsync("batching", () => BatchingAsync(m, convnet, "convnet", settings.ConvNetCheckpoint, batchesEach: 24 * scale, cancellationToken));
            if (settings.Runs("waiting")) await PartClock.TimeAsync("waiting", () => WaitingAsync(m, convnet, batchesEach: 10 * scale, cancellationToken));
            if (settings.Runs("latency")) await PartClock.TimeAsync("latency", () => LatencyAsync(m, batchesEach: 10 * scale, cancellationToken));
            if (settings.Runs("cache")) await PartClock.TimeAsync("cache", () => CacheAsync(m, batches: 10 * scale, cancellationToken));
            if (settings.Runs("peer")) await PartClock.TimeAsync("peer", () => PeerAsync(m, convnet, scale, cancellationToken));
        }
        if (settings.Runs("mlp"))
        {
            using var mlp = InProcessTeacher.Load(settings.MlpCheckpoint, Instances);
            await PartClock.TimeAsync("mlp", () => BatchingAsync(m, mlp, "mlp", settings.MlpCheckpoint, batchesEach: 25 * scale, cancellationToken));
        }
        return figures;
    }

    private Task<TeacherUnderTest> StartAsync(string checkpoint, params string[] extra) =>
        TeacherUnderTest.StartAsync(settings.TeacherDll, checkpoint,
            [$"--Batching:MaxBatch={MaxBatch}", "--Batching:MaxDelayMs=2", $"--Teacher:Instances={Instances}", .. extra]);

    private async Task ServingOverheadAsync(Measurements m, InProcessTeacher model, int batches, CancellationToken ct)
    {
        using var service = await StartAsync(settings.ConvNetCheckpoint);
        var served = new List<double>();
        var limits = new InProcessLimits();
        // Warm-up: whole passes untimed, so that both processes have compiled their hot code to
        // its final tier before the clock starts (a service runs for hours; it would otherwise be
        // timed while its JIT still works beside it).
        // One batch more in flight than the service has copies, so that no copy waits out a round trip.
        var inFlight = Instances + 1;
        for (int w = 0; w < WarmUpPasses; w++) await m.OneStreamAsync(service.Address, MaxBatch, batches, inFlight, ct);
        InProcessLimits.WarmUp(m, model, MaxBatch, batches);
        for (int r = 0; r < settings.Repeats; r++)
        {
            limits.Measure(m, model, MaxBatch, batches);
            served.Add(await m.OneStreamAsync(service.Address, MaxBatch, batches, inFlight, ct));
            // Each pair, not only the medians: on a shared machine one side can change speed between repeats.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  serving repeat {r + 1}: in process {limits.OneAtATime[^1]:0} (one forward at a time) / {limits.Copies[^1]:0} ({Instances} copies), served {served[^1]:0} examples/s"));
        }
        double s = Statistics.Median(served);
        Add("served_examples_per_second_b256", s, "examples/s", "reported", $"convnet, {Instances} instances, one stream, batches of {MaxBatch}, {inFlight} in flight");
        AddLimits(limits, "convnet", $"b{MaxBatch}", "same batches, forward + log_softmax copied out");
        Add("serving_overhead_ratio", s / limits.Best, "ratio", ">= 0.9", $"served / in-process at batch {MaxBatch}, the faster of its two ways");
    }

    private async Task BatchingAsync(Measurements m, InProcessTeacher model, string name, string checkpoint, int batchesEach, CancellationToken ct)
    {
        using var on = await StartAsync(checkpoint, "--Batching:Enabled=true");
        using var off = await StartAsync(checkpoint, "--Batching:Enabled=false");
        // The same with the teacher held once, its forwards on every torch thread (Instances 1).
        using var onSingle = await StartAsync(checkpoint, "--Batching:Enabled=true", "--Teacher:Instances=1");
        using var offSingle = await StartAsync(checkpoint, "--Batching:Enabled=false", "--Teacher:Instances=1");
        TeacherUnderTest[] sendingAhead = [on, off, onSingle, offSingle];
        var rates = sendingAhead.Select(_ => new List<double>()).ToArray();
        var onOneRates = new List<double>();
        var limits = new InProcessLimits();
        var small = new InProcessLimits();
        // Warm-up: whole passes of every kind untimed (see ServingOverheadAsync). Five, because
        // the runtime recompiles a hot method twice (instrumented, then optimised with what that
        // measured), and methods called once per pass or per connection reach the threshold
        // late: after three passes the service's JIT still took 3% of the CPU in the timed
        // repeats, after five it compiled a handful of methods per repeat (its perf map).
        var limitBatches = Math.Max(2 * Instances, Students * batchesEach * StudentBatch / MaxBatch);
        InProcessLimits.WarmUp(m, model, MaxBatch, limitBatches);
        for (int w = 0; w < WarmUpPasses; w++)
        {
            foreach (var service in sendingAhead)
                await m.SendingAheadAsync(service.Address, Students, StudentBatch, batchesEach, SentAhead, ct);
            await m.ConcurrentAsync(on.Address, Students, StudentBatch, batchesEach / 2, ct);
        }
        for (int r = 0; r < settings.Repeats; r++)
        {
            limits.Measure(m, model, MaxBatch, limitBatches);
            small.Measure(m, model, StudentBatch, Students * batchesEach);
            for (int s = 0; s < sendingAhead.Length; s++)
                rates[s].Add(await m.SendingAheadAsync(sendingAhead[s].Address, Students, StudentBatch, batchesEach, SentAhead, ct));
            onOneRates.Add((await m.ConcurrentAsync(on.Address, Students, StudentBatch, batchesEach / 2, ct)).ExamplesPerSecond);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  batching repeat {r + 1} ({name}): in process {limits.OneAtATime[^1]:0} / {limits.Copies[^1]:0}; {Instances} instances on {rates[0][^1]:0}, off {rates[1][^1]:0}; one instance on {rates[2][^1]:0}, off {rates[3][^1]:0} examples/s"));
        }
        double onRate = Statistics.Median(rates[0]), offRate = Statistics.Median(rates[1]), limitRate = limits.Best;
        double onSingleRate = Statistics.Median(rates[2]), offSingleRate = Statistics.Median(rates[3]);
        var how = $"{name}: {Students} students, batches of {StudentBatch}, up to {SentAhead} in flight each, MaxBatch {MaxBatch}";
        var many = $"{how}, {Instances} instances";
        var single = $"{how}, one instance on all {m.TorchThreads} torch threads";
        Add($"batching_on_examples_per_second_{name}", onRate, "examples/s", "reported", many);
        Add($"batching_off_examples_per_second_{name}", offRate, "examples/s", "reported", many);
        AddLimits(limits, name, $"b{MaxBatch}_{name}", "forward at MaxBatch");
        // The goal is the ConvNet's (issue 3); the MLP, where per-request overhead dominates, is reported beside it.
        Add(Suffixed("batching_efficiency", name), onRate / limitRate, "ratio", name == "convnet" ? ">= 0.9" : "reported",
            $"{many}; batcher on / in-process at MaxBatch, the faster of its two ways");
        Add(Suffixed("batching_speedup", name), onRate / offRate, "ratio", "reported", $"{many}; batcher on / off");
        Add(Suffixed("batching_limit_ratio", name), Statistics.Median(limits.Copies) / Statistics.Median(small.Copies), "ratio", "reported",
            $"{name}: in-process per example at MaxBatch / at batch {StudentBatch}, {Instances} copies at once");
        Add($"batching_on_one_instance_examples_per_second_{name}", onSingleRate, "examples/s", "reported", single);
        Add($"batching_off_one_instance_examples_per_second_{name}", offSingleRate, "examples/s", "reported", single);
        Add(Suffixed("batching_efficiency_one_instance", name), onSingleRate / limitRate, "ratio", "reported",
            $"{single}; batcher on / in-process at MaxBatch, the faster of its two ways");
        Add(Suffixed("batching_speedup_one_instance", name), onSingleRate / offSingleRate, "ratio", "reported", $"{single}; batcher on / off");
        Add(Suffixed("batching_limit_ratio_one_instance", name), Statistics.Median(limits.OneAtATime) / Statistics.Median(small.OneAtATime), "ratio", "reported",
            $"{name}: in-process per example at MaxBatch / at batch {StudentBatch}, one forward at a time");
        // Students that wait for every answer before sending again: no forward can hold more than students x batch examples.
        Add(Suffixed("batching_efficiency_one_in_flight", name), Statistics.Median(onOneRates) / limitRate, "ratio", "reported",
            $"{name}: {Students} students, batches of {StudentBatch}, each waiting for its answer before the next, {Instances} instances; batcher on / in-process at MaxBatch");
    }

    // The two in-process references at one batch size: one forward at a time on every torch
    // thread, and one forward per copy at once with the threads shared (as the service runs).
    private void AddLimits(InProcessLimits limits, string model, string suffix, string what)
    {
        Add($"in_process_examples_per_second_{suffix}", Statistics.Median(limits.OneAtATime), "examples/s", "reported",
            $"{model}: {what}, one forward at a time");
        Add($"in_process_copies_examples_per_second_{suffix}", Statistics.Median(limits.Copies), "examples/s", "reported",
            $"{model}: {what}, {Instances} copies of the model at once, one thread each");
    }

    // Students that wait for each answer before sending the next, one of them and eight: no forward
    // can hold more than their batches, so the service is held against the in-process forward at
    // their batch size, the faster of its two ways (every thread on one forward, or one per copy).
    private async Task WaitingAsync(Measurements m, InProcessTeacher model, int batchesEach, CancellationToken ct)
    {
        using var service = await StartAsync(settings.ConvNetCheckpoint);
        int[] studentCounts = [1, Students];
        var rates = studentCounts.Select(_ => new List<double>()).ToArray();
        var limits = new InProcessLimits();
        InProcessLimits.WarmUp(m, model, StudentBatch, Students * batchesEach);
        for (int w = 0; w < WarmUpPasses; w++)
            foreach (var students in studentCounts) await m.ConcurrentAsync(service.Address, students, StudentBatch, batchesEach, ct);
        for (int r = 0; r < settings.Repeats; r++)
        {
            limits.Measure(m, model, StudentBatch, Students * batchesEach);
            for (int i = 0; i < studentCounts.Length; i++)
                rates[i].Add((await m.ConcurrentAsync(service.Address, studentCounts[i], StudentBatch, batchesEach, ct)).ExamplesPerSecond);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  waiting repeat {r + 1}: in process {limits.OneAtATime[^1]:0} / {limits.Copies[^1]:0}; served, 1 student {rates[0][^1]:0}, {Students} students {rates[1][^1]:0} examples/s"));
        }
        AddLimits(limits, "convnet", $"b{StudentBatch}", $"batches of {StudentBatch}");
        for (int i = 0; i < studentCounts.Length; i++)
        {
            var how = $"convnet, {Instances} instances, {studentCounts[i]} student(s), batches of {StudentBatch}, each waiting for its answer before the next";
            Add($"waiting_examples_per_second_{studentCounts[i]}_students", Statistics.Median(rates[i]), "examples/s", "reported", how);
            Add($"waiting_efficiency_{studentCounts[i]}_students", Statistics.Median(rates[i]) / limits.Best, "ratio", ">= 0.9",
                $"{how}; served / in-process at batch {StudentBatch}, the faster of its two ways");
        }
    }

    private async Task LatencyAsync(Measurements m, int batchesEach, CancellationToken ct)
    {
        using var service = await StartAsync(settings.ConvNetCheckpoint);
        foreach (var students in new[] { 1, 4, 8 })
        {
            var all = new List<double>();
            for (int r = 0; r < settings.Repeats; r++)
                all.AddRange((await m.ConcurrentAsync(service.Address, students, StudentBatch, batchesEach, ct)).LatenciesMs);
            var how = $"convnet, batches of {StudentBatch}, {students} concurrent students, {all.Count} batches";
            Add($"latency_p50_ms_{students}_students", Statistics.Percentile(all, 0.5), "ms", "reported", how);
            Add($"latency_p99_ms_{students}_students", Statistics.Percentile(all, 0.99), "ms", "reported", how);
        }
    }

    private async Task CacheAsync(Measurements m, int batches, CancellationToken ct)
    {
        using var redis = RedisServer.StartNew();
        using var service = await StartAsync(settings.ConvNetCheckpoint, $"--Cache:Redis={redis.ConnectionString}");
        // The same teacher with a MAC over every value, its secret in a file as a mounted Secret gives it, its keys apart.
        var secretFile = Path.Combine(Path.GetTempPath(), $"bench-cache-mac-{Environment.ProcessId}");
        await File.WriteAllTextAsync(secretFile, Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), ct);
        using var macService = await StartAsync(settings.ConvNetCheckpoint, $"--Cache:Redis={redis.ConnectionString}",
            $"--Cache:KeySecretFile={secretFile}", "--Cache:KeyPrefix=ts:mac:");
        File.Delete(secretFile);
        var cache = new CacheMeasurements(m, redis.ConnectionString, "ts:v1:");
        var rates = await cache.RunAsync(service.Address, MaxBatch, batches, settings.Repeats, CacheRounds, ct, macService.Address);
        double mac = Statistics.Median(rates.MacKnownDigests);
        double pixels = Statistics.Median(rates.Pixels), digests = Statistics.Median(rates.Digests), known = Statistics.Median(rates.KnownDigests);
        double bare = Statistics.Median(rates.Bare);
        var how = $"convnet, Redis, one stream, batches of {MaxBatch}, {MaxBatch * batches} distinct examples";
        var passes = $"{CacheRounds} times over per pass";
        Add("cache_miss_examples_per_second", rates.Miss, "examples/s", "reported", how + ", all misses");
        Add("cache_hit_examples_per_second", pixels, "examples/s", "reported", $"{how}, all hits, sent as pixels, {passes}");
        Add("cache_hit_by_digest_examples_per_second", known, "examples/s", "reported", $"{how}, all hits, sent as digests the student holds, {passes}");
        Add("cache_hit_hashing_digests_examples_per_second", digests, "examples/s", "reported", $"{how}, all hits, sent as digests the student hashes per batch, {passes}");
        Add("cache_hit_speedup", pixels / rates.Miss, "ratio", "reported", "all hits / all misses, sent as pixels");
        Add("bare_redis_mget_examples_per_second", bare, "examples/s", "reported", $"StackExchange.Redis MGET of the same keys, {MaxBatch} per call, two in flight, {passes}");
        // Like for like: Redis is handed the keys, the service the examples' digests (what the keys are made of).
        Add("cache_hit_vs_bare_redis", known / bare, "ratio", ">= 0.5", "hit path through the service, examples sent as digests the student holds / bare multi-get of the keys");
        Add("cache_hit_hashing_digests_vs_bare_redis", digests / bare, "ratio", "reported", "the same, the student hashing each batch (SHA-256, 784 bytes per example) as it sends it / bare multi-get");
        Add("cache_hit_with_pixels_vs_bare_redis", pixels / bare, "ratio", "reported", "the same examples sent as pixels (784 bytes each over gRPC, hashed by the service) / bare multi-get");
        Add("cache_hit_mac_by_digest_examples_per_second", mac, "examples/s", "reported",
            $"{how}, all hits, sent as digests the student holds, {passes}; a second service whose every value carries a MAC (Cache:KeySecret: HMAC-SHA256, checked on every read), in the same passes");
        Add("cache_hit_mac_vs_without", mac / known, "ratio", "reported", "hit path with the MAC / without it, examples sent as digests the student holds");
        Add("cache_hit_mac_vs_bare_redis", mac / bare, "ratio", ">= 0.5", "hit path with the MAC, examples sent as digests the student holds / bare multi-get of the keys (the issue's condition for keeping the MAC)");
    }

    /// <summary>The teacher loaded in this process, once per instance the service holds.</summary>
    private sealed class InProcessTeacher(IReadOnlyList<ModelSoftTargetSource> copies) : IDisposable
    {
        public static InProcessTeacher Load(string checkpoint, int count) =>
            new([.. Enumerable.Range(0, count).Select(_ => ModelSoftTargetSource.FromCheckpoint("fashion", checkpoint, 1, CPU))]);

        public ModelSoftTargetSource One => copies[0];
        public IReadOnlyList<ModelSoftTargetSource> Copies => copies;

        public void Dispose()
        {
            foreach (var copy in copies) copy.Dispose();
        }
    }

    /// <summary>Both in-process references, measured one after the other in every repeat.</summary>
    private sealed class InProcessLimits
    {
        public List<double> OneAtATime { get; } = [];
        public List<double> Copies { get; } = [];

        /// <summary>The reference a served figure is held against: the faster of the two ways (medians).</summary>
        public double Best => Math.Max(Statistics.Median(OneAtATime), Statistics.Median(Copies));

        /// <summary>The faster of the two ways in the last repeat.</summary>
        public double Latest => Math.Max(OneAtATime[^1], Copies[^1]);

        /// <summary>A pass of each way, untimed.</summary>
        public static void WarmUp(Measurements m, InProcessTeacher model, int batchSize, int batches)
        {
            m.InProcess(model.One, batchSize, batches);
            m.InProcessCopies(model.Copies, batchSize, batches);
        }

        public void Measure(Measurements m, InProcessTeacher model, int batchSize, int batches)
        {
            OneAtATime.Add(m.InProcess(model.One, batchSize, batches));
            Copies.Add(m.InProcessCopies(model.Copies, batchSize, batches));
        }
    }

    private static string Suffixed(string name, string model) => model == "convnet" ? name : $"{name}_{model}";

    private void Add(string name, double value, string unit, string goal, string detail)
    {
        var figure = new Figure(name, value, unit, goal, detail);
        figures.Add(figure);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-44} {FigureReport.Format(value),12} {unit,-11} {goal}"));
    }
}
