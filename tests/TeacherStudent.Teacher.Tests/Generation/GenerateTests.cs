using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.Teacher.Generation;
using TeacherStudent.Teacher.Telemetry;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;
using Microsoft.Extensions.DependencyInjection;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests.Generation;

/// <summary>
/// Generate on a language model held by the service (tiny, untrained: its text is noise, but
/// exactly reproducible), with the generation cache in a real Redis: samples are what the same
/// checkpoint writes in this process, repeat calls come from the cache, calls share runs, and bad
/// requests fail with their status while the service goes on.
/// </summary>
public sealed class GenerateTests : IAsyncLifetime
{
    private const string Lm = "lm";
    private readonly TemporaryDirectory directory = new("generate-tests");
    private RedisServer redis = null!;
    private TeacherServer server = null!;
    private LanguageModel reference = null!;

    public async Task InitializeAsync()
    {
        var checkpoint = TinyLanguageModel.Write(directory.File("lm"), fortunes: 300, vocabularySize: 400, contextLength: 32, width: 32);
        reference = HuggingFaceCheckpoint.Load(checkpoint, CPU);
        redis = RedisServer.StartNew();
        server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teachers:0:Name"] = Lm,
            ["Teachers:0:Checkpoint"] = checkpoint,
            ["Teachers:0:Device"] = "cpu",
            ["Teachers:1:Name"] = "fashion",
            ["Teachers:1:Checkpoint"] = TeacherCheckpoints.Create(directory.File("fashion.ckpt"), seed: 7),
            ["Teachers:1:Device"] = "cpu",
            ["Cache:Redis"] = redis.ConnectionString,
            ["Cache:KeyPrefix"] = "ts:generate-tests:",
            ["Generation:MaxSamples"] = "64",
            ["Generation:DefaultMaxNewTokens"] = "12",
            // Long enough for calls sent together to meet in one run on a loaded machine (150 ms was
            // a narrow window for four calls to arrive in); every lone call waits it once.
            ["Generation:MaxDelayMs"] = "500",
            // Never called here: only described (the upstream tests call one).
            ["Upstreams:0:Name"] = "api",
            ["Upstreams:0:BaseUrl"] = "http://127.0.0.1:9/v1",
            ["Upstreams:0:Model"] = "tiny-chat",
        });
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        reference.Dispose();
        redis.Dispose();
        directory.Dispose();
    }

    private TeacherMetrics Metrics => server.Services.GetRequiredService<TeacherMetrics>();

    private static GenerateRequest Request(string[] prompts, int n = 1, long seed = 5, float? temperature = null, int maxNewTokens = 0,
        params string[] stop)
    {
        var request = new GenerateRequest { Teacher = Lm, Prompts = { prompts }, N = n, Seed = seed, MaxNewTokens = maxNewTokens, Stop = { stop } };
        if (temperature is { } t) request.Temperature = t;
        return request;
    }

    private Task<List<(GeneratedSample Sample, string Version)>> GenerateAsync(GenerateRequest request) => server.GenerateAsync(request);

    // What the same checkpoint writes in this process for one sample of the request.
    private GenerationResult InProcess(string prompt, int sampleIndex, long seed, double temperature, int maxNewTokens)
    {
        var row = new GenerationRow(reference.Prompt(prompt), temperature, 1, maxNewTokens,
            LocalTextGenerator.SeedOf(seed, sampleIndex, prompt));
        return BatchGenerator.Generate(reference, [row])[0];
    }

    [Fact]
    public async Task EverySampleOfEveryPromptIsWhatTheCheckpointWritesInProcess()
    {
        string[] prompts = ["The fool", "A penny saved", "Why"];

        var samples = await GenerateAsync(Request(prompts, n: 3, seed: 11));

        Assert.Equal(9, samples.Count);
        Assert.Equal(Enumerable.Range(0, 9), samples.Select(s => s.Sample.PromptIndex * 3 + s.Sample.SampleIndex).Order());
        Assert.All(samples, s => Assert.Equal(reference.Version, s.Version));
        foreach (var (sample, _) in samples)
        {
            var expected = InProcess(prompts[sample.PromptIndex], sample.SampleIndex, 11, 1, 12);
            Assert.Equal(reference.Tokenizer.Decode(expected.Tokens), sample.Text);
            Assert.Equal(expected.CompletionTokens, sample.CompletionTokens);
            Assert.Equal(expected.PromptTokens, sample.PromptTokens);
            Assert.Equal(expected.End == GenerationEnd.Length ? FinishReason.Length : FinishReason.Stop, sample.FinishReason);
            Assert.False(sample.Cached);
        }
        // Three samples of one prompt are three different draws.
        Assert.Equal(3, samples.Where(s => s.Sample.PromptIndex == 0).Select(s => s.Sample.Text).Distinct().Count());
    }

    [Fact]
    public async Task ASecondIdenticalCallIsAnsweredFromTheCacheAndAnotherSeedIsNot()
    {
        var request = Request(["Cache me", "if you can"], n: 2, seed: 21);
        var first = await GenerateAsync(request);
        long runs = Metrics.GenerationRuns;

        var second = await GenerateAsync(request);
        var reseeded = await GenerateAsync(Request(["Cache me", "if you can"], n: 2, seed: 22));

        Assert.All(second, s => Assert.True(s.Sample.Cached));
        Assert.Equal(Texts(first), Texts(second));
        Assert.All(reseeded, s => Assert.False(s.Sample.Cached));
        Assert.NotEqual(Texts(first), Texts(reseeded));
        Assert.Equal(runs + 1, Metrics.GenerationRuns);  // only the reseeded call ran the model
    }

    private static string[] Texts(List<(GeneratedSample Sample, string Version)> samples) =>
        samples.OrderBy(s => s.Sample.PromptIndex).ThenBy(s => s.Sample.SampleIndex).Select(s => s.Sample.Text).ToArray();

    [Fact]
    public async Task TemperatureZeroWritesTheMostLikelyTextForEverySample()
    {
        var samples = await GenerateAsync(Request(["Greedy"], n: 3, temperature: 0));

        Assert.Single(samples.Select(s => s.Sample.Text).Distinct());
        Assert.Equal(reference.Tokenizer.Decode(InProcess("Greedy", 0, 0, 0, 12).Tokens), samples[0].Sample.Text);
    }

    [Fact]
    public async Task ASampleEndsBeforeItsFirstStopSequenceOrAtItsTokenLimit()
    {
        var free = (await GenerateAsync(Request(["Stop here"], seed: 3, maxNewTokens: 20))).Single().Sample;
        // A character the free text writes after its start: the stopped text is the free text up to it.
        int at = Enumerable.Range(2, free.Text.Length - 2).First(i => char.IsAsciiLetterOrDigit(free.Text[i]) || free.Text[i] == ' ');
        string stop = free.Text[at].ToString();

        var stopped = (await GenerateAsync(Request(["Stop here"], seed: 3, maxNewTokens: 20, stop: stop))).Single().Sample;
        var limited = (await GenerateAsync(Request(["Stop here"], seed: 3, maxNewTokens: 4))).Single().Sample;

        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.Equal(FinishReason.Stop, stopped.FinishReason);
        Assert.True(stopped.CompletionTokens <= free.CompletionTokens);
        Assert.Equal((FinishReason.Length, 4), (limited.FinishReason, limited.CompletionTokens));
    }

    [Fact]
    public async Task ConcurrentCallsShareGenerationRuns()
    {
        long largest = Metrics.LargestGenerationRun;
        var calls = Enumerable.Range(0, 4).Select(c => GenerateAsync(Request([$"call {c}"], n: 6, seed: 100 + c, maxNewTokens: 6))).ToArray();

        var answered = await Task.WhenAll(calls);

        Assert.All(answered, samples => Assert.Equal(6, samples.Count));
        // Four calls of six samples each, sent together, waited up to 500 ms for each other: at least two shared a run.
        Assert.True(Metrics.LargestGenerationRun >= 12, $"largest run {Metrics.LargestGenerationRun} (was {largest})");
    }

    [Fact]
    public async Task DescribeListsTheLanguageModelWithItsGenerationLimitsAndTheUpstreamTeacher()
    {
        var all = (await server.Client.DescribeAsync(new DescribeRequest())).Teachers;
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await server.Client.DescribeAsync(new DescribeRequest { Teacher = "nobody" }));

        Assert.Equal(["fashion", Lm, "api"], all.Select(t => t.Name));
        var lm = all.Single(t => t.Name == Lm);
        Assert.Equal((64, 12, 31), (lm.Limits.MaxSamples, lm.Limits.DefaultMaxNewTokens, lm.Limits.MaxNewTokens));  // context 32 - 1
        var api = (await server.Client.DescribeAsync(new DescribeRequest { Teacher = "api" })).Teachers.Single();
        Assert.Equal((TeacherTask.BlackBoxText, "tiny-chat", "http://127.0.0.1:9/v1"), (api.Task, api.Version, api.Upstream.BaseUrl));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Contains("fashion, lm, api", missing.Status.Detail);
    }

    public static TheoryData<string, GenerateRequest, StatusCode> BadRequests() => new()
    {
        { "no prompts", new GenerateRequest { Teacher = Lm }, StatusCode.InvalidArgument },
        { "negative n", Request(["a"], n: -1), StatusCode.InvalidArgument },
        { "too many samples", Request(["a", "b", "c"], n: 30), StatusCode.InvalidArgument },
        { "too many new tokens", Request(["a"], maxNewTokens: 5000), StatusCode.InvalidArgument },
        { "NaN temperature", Request(["a"], temperature: float.NaN), StatusCode.InvalidArgument },
        { "negative temperature", Request(["a"], temperature: -1), StatusCode.InvalidArgument },
        { "top-p above 1", new GenerateRequest { Teacher = Lm, Prompts = { "a" }, TopP = 1.5f }, StatusCode.InvalidArgument },
        { "empty stop", Request(["a"], stop: ""), StatusCode.InvalidArgument },
        { "prompt longer than the context", Request(["ok", string.Join(' ', Enumerable.Repeat("fortune", 200))]), StatusCode.InvalidArgument },
        { "no teacher named", new GenerateRequest { Prompts = { "a" } }, StatusCode.InvalidArgument },
        { "unknown teacher", new GenerateRequest { Teacher = "nobody", Prompts = { "a" } }, StatusCode.NotFound },
        { "a classifier", new GenerateRequest { Teacher = "fashion", Prompts = { "a" } }, StatusCode.InvalidArgument },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task ABadRequestFailsWithItsStatusAndASentenceAndTheServiceGoesOn(string what, GenerateRequest request, StatusCode code)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => GenerateAsync(request));

        Assert.True(code == error.StatusCode, $"{what}: {error.StatusCode} {error.Status.Detail}");
        Assert.EndsWith(".", error.Status.Detail);
        Assert.Single(await GenerateAsync(Request(["still here"])));
    }
}
