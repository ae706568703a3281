using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Teacher.Telemetry;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Fixtures;

/// <summary>
/// A teacher service of its own for one batching test (so that its counters see only that
/// test), with the in-process cache, the given "Batching" settings, and the same checkpoint
/// loaded in the test process for reference.
/// </summary>
public sealed class BatchingTeacher : IAsyncDisposable
{
    private readonly TemporaryDirectory directory;

    private BatchingTeacher(TemporaryDirectory directory, TeacherServer server, ReferenceTeacher reference)
    {
        this.directory = directory;
        Server = server;
        Reference = reference;
    }

    public TeacherServer Server { get; }
    public ReferenceTeacher Reference { get; }

    /// <summary>The service's own counters.</summary>
    public TeacherMetrics Metrics => Server.Services.GetRequiredService<TeacherMetrics>();

    /// <summary>
    /// Starts a service whose requests may carry up to <paramref name="maxRequest"/> examples,
    /// with "Batching:KEY" set to each of <paramref name="batching"/>. The teacher is a ConvNet of
    /// <paramref name="width"/> channels: a wider one is slower, for tests that need a busy teacher.
    /// <paramref name="extra"/> settings are set as given (full keys).
    /// </summary>
    public static async Task<BatchingTeacher> StartAsync(IReadOnlyDictionary<string, string> batching, int maxRequest = 1024, int width = 8,
        IReadOnlyDictionary<string, string>? extra = null)
    {
        var directory = new TemporaryDirectory("batching-tests");
        var checkpoint = directory.File("teacher.ckpt");
        TorchSharp.torch.manual_seed(4321);
        var spec = ModelSpec.ForFashionMnist("convnet", width);
        using (var model = spec.Create()) Checkpoint.Save(checkpoint, spec, model);
        var settings = new Dictionary<string, string>
        {
            ["Teacher:Name"] = "fashion",
            ["Teacher:Checkpoint"] = checkpoint,
            ["Teacher:Device"] = "cpu",
            ["Teacher:MaxBatch"] = maxRequest.ToString(),
        };
        foreach (var (key, value) in batching) settings[$"Batching:{key}"] = value;
        foreach (var (key, value) in extra ?? new Dictionary<string, string>()) settings[key] = value;
        var server = await TeacherServer.StartAsync(settings);
        return new BatchingTeacher(directory, server, new ReferenceTeacher(checkpoint));
    }

    /// <summary>Sends one request on a stream of its own and returns the answer and how long it took.</summary>
    public async Task<(SoftTargetsResponse Response, TimeSpan Took)> AskOnceAsync(SoftTargetsRequest request)
    {
        await using var stream = Server.OpenStream();
        var watch = Stopwatch.StartNew();
        var response = await stream.AskAsync(request);
        return (response, watch.Elapsed);
    }

    /// <summary>
    /// Opens a stream that asks once (one example) and then stays open with nothing to ask: the batcher
    /// has seen a student that may send at any moment, so its forwards wait for company (MaxDelay or a
    /// full batch) instead of starting as soon as every stream it knows has asked. Its forward is done
    /// when this returns; disposing the stream ends it.
    /// </summary>
    public async Task<SoftTargetStream> OpenIdleStreamAsync()
    {
        var stream = Server.OpenStream();
        TestImages.AssertSucceeded(await stream.AskAsync(TestImages.Request(9_999, 1, id: "idle")));
        return stream;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, failing the test after <paramref name="seconds"/>.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, double seconds = 10)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(seconds)) Assert.Fail($"after {seconds} s still not: {what}.");
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Reference.Dispose();
        directory.Dispose();
    }
}
