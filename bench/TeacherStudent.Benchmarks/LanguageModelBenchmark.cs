using System.Diagnostics;
using System.Globalization;
using Grpc.Net.Client;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using static TorchSharp.torch;

namespace TeacherStudent.Benchmarks;

/// <summary>A language-model teacher to measure: a Hugging Face model directory and what it is.</summary>
/// <param name="Name">Its short name in figure names (synthetic, demo).</param>
/// <param name="BatchesEach">Requests each student sends per pass of the SoftTargets load (sized so that a pass takes seconds, not minutes).</param>
/// <param name="TokenBudget">Batching:MaxTokens of the batcher, and the in-process batch it is held against.</param>
/// <param name="MaxRepeats">At most this many repeats of each load, whatever the run asks (a large model's passes take tens of seconds each).</param>
public sealed record LanguageTeacher(string Name, string Directory, string What, int BatchesEach, int TokenBudget, int MaxRepeats = int.MaxValue);

/// <summary>
/// Issue 15's language-model figures, each side by side in one run with its reference, medians of
/// repeats that alternate the sides: SoftTargets of sequences through the service (batcher on and off)
/// against the in-process forward at the batcher's token budget; Generate through the service against
/// the in-process batched decode with key-value caches, and against one sequence at a time; the
/// service's memory under a Generate load against Generation:MaxKvTokens; prompt sharing for n samples;
/// and an on-policy student's rollout with and without its key-value cache.
/// </summary>
public sealed class LanguageModelBenchmark(BenchSettings settings, IReadOnlyList<LanguageTeacher> teachers)
{
    private const int Students = 8;
    private const int SequencesPerRequest = 4;
    private const int InFlight = 4;            // requests each student keeps unanswered
    private const int TopK = 32;
    private const int Callers = 16;            // concurrent Generate callers
    // Callers of the one-at-a-time reference: it writes one sequence at a time however many wait, so a
    // few give its rate in a quarter of the time.
    private const int OneAtATimeCallers = 4;
    private const int PromptsShared = 200, SamplesEach = 5;
    private const string TeacherName = "lm";

    private readonly List<Figure> figures = [];

    // A quick run (a smoke test of the benchmark) decodes and scores less: a pass of the large model takes ~20 s in full.
    private int NewTokens => settings.Quick ? 16 : 64;
    private int SequenceLength => settings.Quick ? 64 : 256;

    public async Task<IReadOnlyList<Figure>> RunAsync(CancellationToken cancellationToken)
    {
        foreach (var teacher in teachers)
        {
            using var model = HuggingFaceCheckpoint.Load(teacher.Directory, CPU);
            if (settings.Runs("lm")) await PartClock.TimeAsync($"lm ({teacher.Name})", () => SoftTargetsAsync(teacher, model, cancellationToken));
            if (settings.Runs("generate")) await PartClock.TimeAsync($"generate ({teacher.Name})", () => GenerateAsync(teacher, model, cancellationToken));
            // Prompt sharing and the student's rollout are measured on the demo's teacher alone: 200 x 5 samples of
            // the synthetic one would take an hour here, and the rollout is a student's (the demo's student shape).
            if (teacher.Name != "demo") continue;
            if (settings.Runs("prefix")) await PartClock.TimeAsync($"prefix ({teacher.Name})", () => PrefixReuseAsync(teacher, cancellationToken));
            if (settings.Runs("onpolicy")) PartClock.Time($"onpolicy ({teacher.Name})", () => OnPolicy(teacher, model));
        }
        return figures;
    }

    private Task<TeacherUnderTest> StartAsync(LanguageTeacher teacher, params string[] extra) =>
        TeacherUnderTest.StartAsync(settings.TeacherDll, teacher.Directory, TeacherName, extra);

    // 8 students, each sending batches of 4 sequences with several in flight, top-32 targets, every sequence new.
    private async Task SoftTargetsAsync(LanguageTeacher teacher, LanguageModel model, CancellationToken ct)
    {
        int length = Math.Min(SequenceLength, model.ContextLength), budget = teacher.TokenBudget, budgetSequences = budget / length;
        int batchesEach = settings.Quick ? 1 : teacher.BatchesEach, repeats = Math.Min(settings.Repeats, teacher.MaxRepeats);
        using var on = await StartAsync(teacher, "--Batching:Enabled=true", $"--Batching:MaxTokens={budget}");
        using var off = await StartAsync(teacher, "--Batching:Enabled=false");
        var random = new Random(15);
        var served = new[] { new List<double>(), new List<double>() };
        var inProcess = new List<double>();
        var tokensPerPass = Students * batchesEach * SequencesPerRequest * length;
        int limitCalls = Math.Max(1, tokensPerPass / budget);
        // Warm-up: a small load of each kind untimed, so that both processes have compiled their hot paths.
        InProcessTokensPerSecond(model, random, 1, length, 1);
        foreach (var service in new[] { on, off }) await ServedTokensPerSecondAsync(service, model, random, length, 2, 1, ct);
        for (int r = 0; r < repeats; r++)
        {
            inProcess.Add(InProcessTokensPerSecond(model, random, budgetSequences, length, limitCalls));
            served[0].Add(await ServedTokensPerSecondAsync(on, model, random, length, Students, batchesEach, ct));
            served[1].Add(await ServedTokensPerSecondAsync(off, model, random, length, Students, batchesEach, ct));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  lm repeat {r + 1} ({teacher.Name}): in process {inProcess[^1]:0}, batcher on {served[0][^1]:0}, off {served[1][^1]:0} tokens/s"));
        }
        double limit = Statistics.Median(inProcess), onRate = Statistics.Median(served[0]), offRate = Statistics.Median(served[1]);
        var how = $"{teacher.What}: {Students} students, batches of {SequencesPerRequest} sequences of {length} tokens, {InFlight} in flight each, top-{TopK}, median of {repeats}";
        Add(teacher, "lm_served_tokens_per_second", onRate, "tokens/s", "reported", $"{how}, Batching:MaxTokens {budget}");
        Add(teacher, "lm_unbatched_tokens_per_second", offRate, "tokens/s", "reported", $"{how}, batcher off (one forward per request)");
        Add(teacher, "lm_in_process_tokens_per_second", limit, "tokens/s", "reported",
            $"{teacher.What}: SequenceTargets.Compute of {budgetSequences} sequences of {length} tokens ({budget} tokens, the batcher's budget), top-{TopK}, all torch threads");
        Add(teacher, "lm_serving_efficiency", onRate / limit, "ratio", ">= 0.9", $"{how}; served (batcher on) / in-process at the token budget");
        Add(teacher, "lm_batching_speedup", onRate / offRate, "ratio", "reported", $"{how}; batcher on / off");
        Add(teacher, "lm_unbatched_efficiency", offRate / limit, "ratio", "reported", $"{how}; batcher off / in-process at the token budget");
    }

    private double InProcessTokensPerSecond(LanguageModel model, Random random, int sequences, int length, int calls)
    {
        set_num_threads(Environment.ProcessorCount);
        var batches = Enumerable.Range(0, calls).Select(_ => RandomTokens(random, model.VocabularySize, sequences * length)).ToArray();
        var settingsTopK = new SequenceTargetSettings(1f, TopK, SparseTargetKind.TopK);
        var clock = Stopwatch.StartNew();
        foreach (var tokens in batches) SequenceTargets.Compute(model, tokens, sequences, length, settingsTopK);
        return (double)calls * sequences * length / clock.Elapsed.TotalSeconds;
    }

    private static async Task<double> ServedTokensPerSecondAsync(TeacherUnderTest service, LanguageModel model, Random random, int length, int studentCount,
        int batchesEach, CancellationToken ct)
    {
        var work = Enumerable.Range(0, studentCount)
            .Select(_ => Enumerable.Range(0, batchesEach).Select(_ => RandomTokens(random, model.VocabularySize, SequencesPerRequest * length)).ToArray())
            .ToArray();
        var students = work.Select(_ => new SequenceStudent(service.Address, TeacherName)).ToArray();
        try
        {
            var clock = Stopwatch.StartNew();
            var hits = await Task.WhenAll(work.Select((batches, s) =>
                students[s].StreamAsync(batches, SequencesPerRequest, length, TopK, 1f, InFlight, ct)));
            var seconds = clock.Elapsed.TotalSeconds;
            if (hits.Sum() > 0) throw new InvalidOperationException($"{hits.Sum()} sequences came from the cache: the load is meant to be all misses.");
            return (double)studentCount * batchesEach * SequencesPerRequest * length / seconds;
        }
        finally
        {
            foreach (var student in students) await student.DisposeAsync();
        }
    }

    // Random ids: throughput does not depend on the tokens, and random sequences are never in the cache.
    private static int[] RandomTokens(Random random, int vocabulary, int count)
    {
        var tokens = new int[count];
        for (int i = 0; i < count; i++) tokens[i] = random.Next(vocabulary);
        return tokens;
    }

    // 16 concurrent callers, one prompt and 64 new tokens each; the same prompts decoded in process, 16 rows at once.
    private async Task GenerateAsync(LanguageTeacher teacher, LanguageModel model, CancellationToken ct)
    {
        using var continuous = await StartAsync(teacher);
        using var single = await StartAsync(teacher, "--Generation:MaxBatch=1");
        var prompts = Prompts(Callers, "caller");
        var fewPrompts = prompts[..OneAtATimeCallers];
        var served = new[] { new List<double>(), new List<double>() };
        var inProcess = new List<double>();
        long seed = 1;
        int repeats = Math.Min(settings.Repeats, teacher.MaxRepeats);
        // Warm-up: a small load of each kind untimed.
        InProcessDecode(model, prompts[..2], seed++);
        await ServedGenerateAsync(continuous, prompts[..2], 1, seed++, ct);
        await ServedGenerateAsync(single, prompts[..1], 1, seed++, ct);
        for (int r = 0; r < repeats; r++)
        {
            inProcess.Add(InProcessDecode(model, prompts, seed++));
            served[0].Add(await ServedGenerateAsync(continuous, prompts, 1, seed++, ct));
            served[1].Add(await ServedGenerateAsync(single, fewPrompts, 1, seed++, ct));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  generate repeat {r + 1} ({teacher.Name}): in process {inProcess[^1]:0}, served {served[0][^1]:0}, one at a time {served[1][^1]:0} tokens/s"));
        }
        double limit = Statistics.Median(inProcess), rate = Statistics.Median(served[0]), oneRate = Statistics.Median(served[1]);
        var how = $"{teacher.What}: {Callers} concurrent Generate calls of one prompt, up to {NewTokens} new tokens each, temperature 1, median of {repeats}";
        Add(teacher, "generate_tokens_per_second", rate, "tokens/s", "reported", how);
        Add(teacher, "generate_one_at_a_time_tokens_per_second", oneRate, "tokens/s", "reported",
            $"{teacher.What}: {OneAtATimeCallers} of the same calls at once, Generation:MaxBatch 1 (one sequence at a time)");
        Add(teacher, "generate_in_process_tokens_per_second", limit, "tokens/s", "reported",
            $"{teacher.What}: BatchGenerator.Generate of the same {Callers} prompts at once, key-value cache, all torch threads");
        Add(teacher, "generate_efficiency", rate / limit, "ratio", ">= 0.8", $"{how}; served / in-process batched decode");
        Add(teacher, "generate_speedup", rate / oneRate, "ratio", "reported", $"{how}; served / one sequence at a time");
        await GenerateMemoryAsync(teacher, model, ct);
    }

    // The service's resident memory under 64 concurrent callers, against the key-value budget it was given.
    private async Task GenerateMemoryAsync(LanguageTeacher teacher, LanguageModel model, CancellationToken ct)
    {
        var config = LlamaConfig.Read(Path.Combine(teacher.Directory, LlamaConfig.FileName));
        long budgetTokens = settings.Quick ? 4096 : 8192;
        double bytesPerToken = 2.0 * config.Layers * config.KeyValueHeads * config.HeadWidth * sizeof(float);
        using var service = await StartAsync(teacher, $"--Generation:MaxKvTokens={budgetTokens}");
        // A first small load, so that what is measured after it is the service at work, not its start.
        await ServedGenerateAsync(service, Prompts(2, "warm"), 1, 7, ct);
        var before = ProcessMemory.Read(service.ProcessId);
        await ServedGenerateAsync(service, Prompts(64, "memory"), 1, 8, ct);
        var after = ProcessMemory.Read(service.ProcessId);
        var how = $"{teacher.What}: 64 concurrent Generate calls of {NewTokens} new tokens, Generation:MaxKvTokens {budgetTokens}";
        Add(teacher, "generate_kv_budget_mb", budgetTokens * bytesPerToken / (1 << 20), "MB", "reported",
            $"{how}: the budget's keys and values in float32 ({config.Layers} layers x {config.KeyValueHeads} heads x {config.HeadWidth})");
        Add(teacher, "generate_peak_rss_mb", after.PeakBytes / (double)(1 << 20), "MB", "reported", $"{how}: the service's peak resident memory (VmHWM), model load included");
        Add(teacher, "generate_rss_growth_mb", (after.PeakBytes - before.ResidentBytes) / (double)(1 << 20), "MB", "reported",
            $"{how}: peak resident memory under the load above what the service held before it");
    }

    private static string[] Prompts(int count, string what) =>
        Enumerable.Range(0, count).Select(i => $"Note {i} of the {what}s: a fortune is a short text that says something about a person, like number {i * 37}.").ToArray();

    private double InProcessDecode(LanguageModel model, string[] prompts, long seed)
    {
        set_num_threads(Environment.ProcessorCount);
        var rows = prompts.Select((p, i) => new GenerationRow(model.Prompt(p), 1, 1, NewTokens, unchecked((ulong)(seed * 1_000 + i)))).ToArray();
        var clock = Stopwatch.StartNew();
        var results = BatchGenerator.Generate(model, rows);
        return results.Sum(r => r.CompletionTokens) / clock.Elapsed.TotalSeconds;
    }

    // Every prompt its own concurrent call of n samples; completion tokens written per second of wall time.
    private async Task<double> ServedGenerateAsync(TeacherUnderTest service, string[] prompts, int n, long seed, CancellationToken ct)
    {
        using var channel = GrpcChannel.ForAddress(service.Address);
        var client = new Teacher.TeacherClient(channel);
        var clock = Stopwatch.StartNew();
        var tokens = await Task.WhenAll(prompts.Select(async prompt =>
        {
            var request = new GenerateRequest { Teacher = TeacherName, Prompts = { prompt }, N = n, MaxNewTokens = NewTokens, Temperature = 1, Seed = seed };
            using var call = client.Generate(request, cancellationToken: ct);
            long written = 0;
            while (await call.ResponseStream.MoveNext(ct))
                foreach (var sample in call.ResponseStream.Current.Samples)
                {
                    if (sample.Cached) throw new InvalidOperationException("a sample came from the generation cache: the load is meant to be all new.");
                    written += sample.CompletionTokens;
                }
            return written;
        }));
        return tokens.Sum() / clock.Elapsed.TotalSeconds;
    }

    // n = 5 samples of 200 prompts in one call, with the prompt read once per prompt and once per sample.
    private async Task PrefixReuseAsync(LanguageTeacher teacher, CancellationToken ct)
    {
        int prompts = settings.Quick ? 40 : PromptsShared;
        var texts = Prompts(prompts, "shared prompt");
        var port = new[] { Testing.FreePort.Next(), Testing.FreePort.Next() };
        using var shared = await StartAsync(teacher, "--Generation:SharePrompts=true", $"--Metrics:PrometheusPort={port[0]}");
        using var alone = await StartAsync(teacher, "--Generation:SharePrompts=false", $"--Metrics:PrometheusPort={port[1]}");
        var seconds = new double[2];
        var computed = new long[2];
        var services = new[] { shared, alone };
        // Each side once: a call takes ~20 s, and the prompt tokens computed, the figure that matters, hardly vary.
        for (int s = 0; s < 2; s++)
        {
            var before = await PromptTokensComputedAsync(port[s], ct);
            var clock = Stopwatch.StartNew();
            await OneCallAsync(services[s], texts, SamplesEach, seed: 100, ct);
            seconds[s] = clock.Elapsed.TotalSeconds;
            computed[s] = await PromptTokensComputedAsync(port[s], ct) - before;
        }
        var how = $"{teacher.What}: one Generate call of {prompts} prompts, n = {SamplesEach}, {NewTokens} new tokens";
        Add(teacher, "prefix_prompt_tokens_computed_shared", computed[0], "tokens", "reported", $"{how}, Generation:SharePrompts true");
        Add(teacher, "prefix_prompt_tokens_computed_unshared", computed[1], "tokens", "reported", $"{how}, Generation:SharePrompts false");
        Add(teacher, "prefix_reuse_seconds_shared", seconds[0], "s", "reported", $"{how}, Generation:SharePrompts true");
        Add(teacher, "prefix_reuse_seconds_unshared", seconds[1], "s", "reported", $"{how}, Generation:SharePrompts false");
        Add(teacher, "prefix_reuse_speedup", seconds[1] / seconds[0], "ratio", "reported", $"{how}; time unshared / shared");
    }

    private async Task OneCallAsync(TeacherUnderTest service, string[] prompts, int n, long seed, CancellationToken ct)
    {
        using var channel = GrpcChannel.ForAddress(service.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20 });
        var request = new GenerateRequest { Teacher = TeacherName, N = n, MaxNewTokens = NewTokens, Temperature = 1, Seed = seed };
        request.Prompts.AddRange(prompts);
        using var call = new Teacher.TeacherClient(channel).Generate(request, cancellationToken: ct);
        while (await call.ResponseStream.MoveNext(ct)) { }
    }

    private static async Task<long> PromptTokensComputedAsync(int port, CancellationToken ct)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync($"http://localhost:{port}/metrics", ct);
        return (long)PrometheusText.Sum(text, "teacher_generation_prompt_tokens_total");
    }

    // An on-policy student's rollout (its own draws only): with its key-value cache, and re-reading every prefix.
    private void OnPolicy(LanguageTeacher teacher, LanguageModel model)
    {
        var config = LlamaConfig.Small(model.VocabularySize, 128, layers: 2, width: 128, heads: 4);
        using var student = new Llama(config).InitialiseRandomly();
        int sequences = 16, promptLength = 64, newTokens = 64;
        var random = new Random(3);
        var cached = new List<double>();
        var reread = new List<double>();
        var eos = model.Special.EndOfSequence.First();
        set_num_threads(Environment.ProcessorCount);
        for (int r = 0; r <= settings.Repeats; r++) // the first of each untimed
        {
            var prompts = RandomTokens(random, model.VocabularySize, sequences * promptLength);
            var clock = Stopwatch.StartNew();
            var rollout = new OnPolicyRollout(null, 0, model.VocabularySize, eos).RunAsync(student, prompts, sequences, promptLength, newTokens, r, default)
                .GetAwaiter().GetResult();
            if (r > 0) cached.Add(rollout.GeneratedTokens / clock.Elapsed.TotalSeconds);
            clock.Restart();
            var written = PrefixRereadRollout.Run(student, prompts, sequences, promptLength, newTokens, model.VocabularySize, eos, r);
            if (r > 0) reread.Add(written / clock.Elapsed.TotalSeconds);
        }
        var how = $"the demo's student shape (2 layers, width 128, random weights): {sequences} sequences, prompts of {promptLength}, up to {newTokens} new tokens, its own draws";
        Add(teacher, "on_policy_student_tokens_per_second_kv_cache", Statistics.Median(cached), "tokens/s", "reported", $"{how}, OnPolicyRollout (key-value cache)");
        Add(teacher, "on_policy_student_tokens_per_second_reread", Statistics.Median(reread), "tokens/s", "reported", $"{how}, the whole prefix read for every token (as before)");
        Add(teacher, "on_policy_kv_cache_speedup", Statistics.Median(cached) / Statistics.Median(reread), "ratio", "reported", $"{how}; key-value cache / re-read");
    }

    private void Add(LanguageTeacher teacher, string name, double value, string unit, string goal, string how) =>
        figures.Add(new Figure($"{name}_{teacher.Name}", value, unit, goal, how));
}
