using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Teacher.Generation;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests.Generation;

/// <summary>
/// Generate's continuous batching over real gRPC, on a tiny language model and a key-value budget of
/// 100 tokens (about four samples): every caller gets what the checkpoint writes alone while the budget
/// holds, a caller that cannot get in before its deadline is RESOURCE_EXHAUSTED, a sample larger than the
/// budget is INVALID_ARGUMENT, a cancelled caller's samples leave, and samples of one prompt read it once.
/// Where a test needs the batch to stand still, it holds the model itself (as a SoftTargets forward would)
/// between generation steps.
/// </summary>
public sealed class ContinuousGenerationTests : IAsyncLifetime
{
    private const string Lm = "lm";
    private const int Budget = 100;
    private readonly TemporaryDirectory directory = new("continuous-generation-tests");
    private string checkpoint = null!;
    private TeacherServer server = null!;
    private LanguageModel reference = null!;

    public async Task InitializeAsync()
    {
        checkpoint = TinyLanguageModel.Write(directory.File("lm"), fortunes: 300, vocabularySize: 400, contextLength: 256, width: 32);
        reference = HuggingFaceCheckpoint.Load(checkpoint, CPU);
        server = await StartAsync(sharePrompts: true);
    }

    private Task<TeacherServer> StartAsync(bool sharePrompts) => TeacherServer.StartAsync(new Dictionary<string, string>
    {
        ["Teachers:0:Name"] = Lm,
        ["Teachers:0:Checkpoint"] = checkpoint,
        ["Teachers:0:Device"] = "cpu",
        ["Generation:MaxKvTokens"] = Budget.ToString(),
        ["Generation:DefaultMaxNewTokens"] = "20",
        ["Generation:SharePrompts"] = sharePrompts.ToString(),
        // Samples that arrive together while nothing runs join together.
        ["Generation:MaxDelayMs"] = "200",
    });

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        reference.Dispose();
        directory.Dispose();
    }

    private TeacherMetrics Metrics => server.Services.GetRequiredService<TeacherMetrics>();

    private static GenerateRequest Request(string prompt, int n = 1, long seed = 5, int maxNewTokens = 0) =>
        new() { Teacher = Lm, Prompts = { prompt }, N = n, Seed = seed, MaxNewTokens = maxNewTokens, Temperature = 1 };

    // What the same checkpoint writes in this process for one sample, alone.
    private string Alone(string prompt, int sampleIndex, long seed, int maxNewTokens = 20)
    {
        var row = new GenerationRow(reference.Prompt(prompt), 1, 1, maxNewTokens, LocalTextGenerator.SeedOf(seed, sampleIndex, prompt));
        return reference.Tokenizer.Decode(BatchGenerator.Generate(reference, [row])[0].Tokens);
    }

    // Holds the language model, as a long forward would, until the returned source is cancelled: the batch stands still.
    private Task HoldTheModel(CancellationToken until)
    {
        var lease = server.Services.GetRequiredService<TeacherRegistry>().Acquire(Lm)!;
        var held = new TaskCompletionSource();
        var thread = new Thread(() =>
        {
            lease.Teacher.Exclusively(() =>
            {
                held.SetResult();
                until.WaitHandle.WaitOne(TimeSpan.FromSeconds(30));  // a failed test lets go too
                return 0;
            });
            lease.Dispose();
        });
        thread.Start();
        return held.Task;
    }

    private static async Task Until(Func<bool> condition)
    {
        for (int i = 0; i < 3000 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), "the service did not get there within 30 s");
    }

    [Fact]
    public async Task SixtyFourCallersAreAllAnsweredWithWhatEachWritesAloneWhileTheKeyValueBudgetHolds()
    {
        // Arrange: 64 callers of one sample each; a sample reserves 4 to 6 tokens of prompt and 20 new, so about four run at once.
        var prompts = Enumerable.Range(0, 64).Select(i => $"caller {i}").ToArray();

        // Act
        var answers = await Task.WhenAll(prompts.Select((p, i) => server.GenerateAsync(Request(p, seed: i))));

        // Assert
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(Alone(prompts[i], 0, i), answers[i].Single().Sample.Text);
        Assert.InRange(Metrics.PeakReservedKvTokens, 1, Budget);
        Assert.InRange(Metrics.PeakAllocatedKvTokens, 1, Budget);
        Assert.True(Metrics.LargestGenerationStep >= 2, $"samples ran one at a time (largest step {Metrics.LargestGenerationStep})");
        Assert.Equal(0, Metrics.ReservedKvTokens);
    }

    [Fact]
    public async Task ACallerThatCannotGetInBeforeItsDeadlineIsResourceExhaustedAndTheServiceServesOn()
    {
        // Arrange: a sample of 60 new tokens takes more than half the budget and is let in; the model is held, so it stays.
        using var release = new CancellationTokenSource();
        await HoldTheModel(release.Token);
        var occupant = server.GenerateAsync(Request("occupant", maxNewTokens: 60));
        await Until(() => Metrics.ReservedKvTokens > 0);
        long rejected = Metrics.RejectedSamples;

        // Act: another such sample, with half a second to get in.
        var late = Request("latecomer", maxNewTokens: 60);
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = server.Client.Generate(late, deadline: DateTime.UtcNow.AddMilliseconds(500));
            while (await call.ResponseStream.MoveNext(CancellationToken.None)) { }
        });
        await release.CancelAsync();

        // Assert
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("key-value cache", refused.Status.Detail);
        Assert.Equal(rejected + 1, Metrics.RejectedSamples);
        Assert.Equal(Alone("occupant", 0, 5, 60), (await occupant).Single().Sample.Text);
        Assert.Equal(Alone("latecomer", 0, 5, 60), (await server.GenerateAsync(late)).Single().Sample.Text);
    }

    [Fact]
    public async Task ASampleLargerThanTheWholeBudgetIsInvalidArgumentWithASentence()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => server.GenerateAsync(Request("too long", maxNewTokens: Budget)));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("Generation:MaxKvTokens", error.Status.Detail);
        Assert.EndsWith(".", error.Status.Detail);
        Assert.Single(await server.GenerateAsync(Request("still here")));
    }

    [Fact]
    public async Task ACancelledCallersSamplesLeaveTheBatchAtTheNextStep()
    {
        // Arrange: three samples join while the model is held.
        using var release = new CancellationTokenSource();
        await HoldTheModel(release.Token);
        long dropped = Metrics.DroppedSamples, steps = Metrics.GenerationSteps;
        using var caller = new CancellationTokenSource();
        var call = server.GenerateAsync(Request("cancel me", n: 3, maxNewTokens: 25), caller.Token);
        await Until(() => Metrics.ReservedKvTokens > 0);

        // Act: the caller goes away; the service hears of it (and counts the samples dropped) before the model is free again.
        await caller.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => call);
        await Until(() => Metrics.DroppedSamples == dropped + 3);
        await release.CancelAsync();

        // Assert: they leave before any step, and take their reservation with them.
        await Until(() => Metrics.ReservedKvTokens == 0);
        Assert.Equal(steps, Metrics.GenerationSteps);
        Assert.Single(await server.GenerateAsync(Request("still here")));
    }

    [Fact]
    public async Task SamplesOfOnePromptReadItOnceAndWriteWhatTheyWriteWhenEachReadsIt()
    {
        // Arrange: a second service that does not share prompts.
        const string prompt = "One prompt";
        int promptTokens = reference.Prompt(prompt).Length;
        Assert.True(4 * (promptTokens + 10) <= Budget, $"a prompt of {promptTokens} tokens: four samples do not fit the budget at once");
        await using var unshared = await StartAsync(sharePrompts: false);
        var unsharedMetrics = unshared.Services.GetRequiredService<TeacherMetrics>();
        long read = Metrics.PromptTokensComputed;

        // Act
        var shared = await server.GenerateAsync(Request(prompt, n: 4, seed: 9, maxNewTokens: 10));
        var separate = await unshared.GenerateAsync(Request(prompt, n: 4, seed: 9, maxNewTokens: 10));

        // Assert: the four samples joined together; the same texts either way, each what it writes alone.
        Assert.Equal(promptTokens, Metrics.PromptTokensComputed - read);
        Assert.Equal(4 * promptTokens, unsharedMetrics.PromptTokensComputed);
        Assert.Equal(Texts(shared), Texts(separate));
        Assert.Equal(Enumerable.Range(0, 4).Select(i => Alone(prompt, i, 9, 10)), Texts(shared));
    }

    private static string[] Texts(List<(GeneratedSample Sample, string Version)> samples) =>
        samples.OrderBy(s => s.Sample.SampleIndex).Select(s => s.Sample.Text).ToArray();
}
