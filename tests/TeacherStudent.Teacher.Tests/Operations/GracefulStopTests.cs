using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.Teacher.Caching;
using TeacherStudent.Teacher.Operations;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Operations;

/// <summary>
/// The service stopping as on SIGTERM (the host's stop): health turns NOT_SERVING first, a stream
/// answers what it has read and then ends with UNAVAILABLE saying the service is stopping, new calls
/// are refused, and the drain time bounds it all. Requests are held in flight by a cache whose
/// lookups wait until the test lets them go, so that no assertion depends on timing.
/// </summary>
public sealed class GracefulStopTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly TemporaryDirectory directory = new("graceful-stop-tests");
    private readonly HeldCache cache = new();
    private string checkpoint = "";
    private TeacherServer? server;
    private GrpcChannel? channel;

    public Task InitializeAsync()
    {
        checkpoint = TeacherCheckpoints.Create(directory.File("fashion.ckpt"), seed: 17);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        cache.Release();
        channel?.Dispose();
        if (server is not null) await server.DisposeAsync();
        directory.Dispose();
    }

    [Fact]
    public async Task HealthTurnsNotServingForTheServiceAndEachTeacherWhileAStreamStillWaitsForItsAnswer()
    {
        // Arrange: one request in flight, held in the cache lookup.
        await StartAsync(new() { ["Teachers:1:Name"] = "other", ["Teachers:1:Checkpoint"] = checkpoint });
        var health = new Health.HealthClient(channel);
        using var call = server!.Client.SoftTargets();
        await call.RequestStream.WriteAsync(TestImages.Request(0, 4, 2f, id: "a"));
        await UntilAsync(() => Task.FromResult(cache.Held == 1), "the request is in flight");
        var answer = call.ResponseStream.MoveNext(CancellationToken.None);

        // Act
        var stopping = server.StopAsync();
        await UntilAsync(async () => (await health.CheckAsync(new HealthCheckRequest())).Status == HealthCheckResponse.Types.ServingStatus.NotServing,
            "health NOT_SERVING");
        var statuses = await Task.WhenAll(new[] { "fashion", "other" }.Select(async name =>
            (await health.CheckAsync(new HealthCheckRequest { Service = name })).Status));
        bool streamOpenWhenNotServing = !answer.IsCompleted;
        cache.Release();
        Assert.True(await answer);
        var reply = call.ResponseStream.Current;
        var end = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        await stopping.WaitAsync(Patience);

        // Assert: NOT_SERVING everywhere while the stream was open; then its answer, then UNAVAILABLE.
        Assert.All(statuses, s => Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, s));
        Assert.True(streamOpenWhenNotServing, "the stream ended before health said NOT_SERVING");
        AssertAnswered(reply, "a", 0, 4, 2f);
        AssertStopping(end, "was answered above");
    }

    [Fact]
    public async Task AStreamAnswersTheRequestsItReadBeforeTheDrainThenEndsWithUnavailableAndReadsNoMore()
    {
        // Arrange: three requests read and in flight.
        await StartAsync([]);
        using var call = server!.Client.SoftTargets();
        for (int i = 0; i < 3; i++) await call.RequestStream.WriteAsync(TestImages.Request(10 * i, 5, 3f, id: $"read {i}"));
        await UntilAsync(() => Task.FromResult(cache.Held == 3), "three requests in flight");

        // Act: once a new call is refused (the drain has begun), one more request on the open stream.
        var stopping = server.StopAsync();
        var refused = await RefusedCallAsync();
        await call.RequestStream.WriteAsync(TestImages.Request(40, 5, 3f, id: "after the drain began"));
        cache.Release();
        var replies = new List<SoftTargetsResponse>();
        var end = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None)) replies.Add(call.ResponseStream.Current);
        });
        await stopping.WaitAsync(Patience);

        // Assert: the three read before the drain are answered, in order; the one sent after it is not.
        AssertStopping(refused, "takes no new calls");
        Assert.Equal(["read 0", "read 1", "read 2"], replies.Select(r => r.RequestId));
        for (int i = 0; i < 3; i++) AssertAnswered(replies[i], $"read {i}", 10 * i, 5, 3f);
        AssertStopping(end, "send the rest again on a new stream");
        Assert.Equal(3, cache.Held); // the fourth request never reached the teacher
    }

    [Fact]
    public async Task AStreamStillWaitingWhenTheDrainTimeRunsOutEndsWithUnavailableSayingSo()
    {
        // Arrange: a drain of one second, and a request held in flight for longer than that.
        await StartAsync(new() { ["Shutdown:DrainSeconds"] = "1" });
        using var call = server!.Client.SoftTargets();
        await call.RequestStream.WriteAsync(TestImages.Request(0, 2, id: "held"));
        await UntilAsync(() => Task.FromResult(cache.Held == 1), "the request is in flight");

        // Act
        var stopping = server.StopAsync();
        var end = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        await stopping.WaitAsync(Patience);

        // Assert
        AssertStopping(end, "drain time (1 s) ran out");
    }

    [Fact]
    public async Task DuringTheHealthDelayTheServiceNotServingStillAnswersANewStream()
    {
        // Arrange: a health delay far longer than the test; its end is forced by cancelling the stop.
        cache.Release();
        await StartAsync(new() { ["Shutdown:HealthDelaySeconds"] = "300" });
        var health = new Health.HealthClient(channel);
        using var stop = new CancellationTokenSource();

        // Act
        var stopping = server!.StopAsync(stop.Token);
        await UntilAsync(async () => (await health.CheckAsync(new HealthCheckRequest())).Status == HealthCheckResponse.Types.ServingStatus.NotServing,
            "health NOT_SERVING");
        using var call = server.Client.SoftTargets();
        await call.RequestStream.WriteAsync(TestImages.Request(3, 6, 1.5f, id: "during the delay"));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var reply = call.ResponseStream.Current;
        await stop.CancelAsync();
        var end = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        await stopping.WaitAsync(Patience);

        // Assert
        AssertAnswered(reply, "during the delay", 3, 6, 1.5f);
        AssertStopping(end, "");
    }

    [Fact]
    public async Task AGenerateCallOpenWhenTheServiceStopsSendsEverySampleAndEndsWell()
    {
        // Arrange: a tiny language model; the call waits in its cache lookup.
        var lm = directory.File("lm");
        TinyLanguageModel.Write(lm, fortunes: 100, vocabularySize: 300);
        await StartAsync(new() { ["Teachers:1:Name"] = "lm", ["Teachers:1:Checkpoint"] = lm, ["Teachers:1:Device"] = "cpu" });
        var request = new GenerateRequest { Teacher = "lm", Prompts = { "One", "Two", "Three" }, N = 2, MaxNewTokens = 6, Seed = 3 };
        var generating = server!.GenerateAsync(request);
        await UntilAsync(() => Task.FromResult(cache.Held == 1), "the call is in flight");

        // Act
        var stopping = server.StopAsync();
        var refused = await RefusedCallAsync();
        cache.Release();
        var samples = await generating.WaitAsync(Patience);
        await stopping.WaitAsync(Patience);

        // Assert: every sample of the call that was open; the call made after the drain began refused.
        Assert.Equal(Enumerable.Range(0, 6), samples.Select(s => s.Sample.PromptIndex * 2 + s.Sample.SampleIndex).Order());
        AssertStopping(refused, "takes no new calls");
    }

    [Fact]
    public void ADrainOfZeroSecondsStopsStartUpNamingTheKey()
    {
        var error = Assert.Throws<TeacherStartupException>(
            () => TeacherApp.Build([$"--Teacher:Checkpoint={checkpoint}", "--Shutdown:DrainSeconds=0"]));

        Assert.Contains("Shutdown:DrainSeconds", error.Message);
    }

    private async Task StartAsync(Dictionary<string, string> settings)
    {
        settings["Teachers:0:Name"] = "fashion";
        settings["Teachers:0:Checkpoint"] = checkpoint;
        settings["Teachers:0:Device"] = "cpu";
        server = await TeacherServer.StartAsync(settings, services => services.AddSingleton<ISoftTargetCache>(cache));
        channel = GrpcChannel.ForAddress(server.Address);
    }

    // Generate asked of a classifier is INVALID_ARGUMENT once the call is let in, and refused
    // before that once the drain has begun: the first UNAVAILABLE says the drain is on.
    private async Task<RpcException> RefusedCallAsync()
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => server!.GenerateAsync(new GenerateRequest { Teacher = "fashion", Prompts = { "a" } }));
            if (error.StatusCode == StatusCode.Unavailable) return error;
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            if (watch.Elapsed > Patience) Assert.Fail($"no call was refused within {Patience.TotalSeconds} s of the stop");
            await Task.Delay(20);
        }
    }

    private void AssertAnswered(SoftTargetsResponse reply, string id, int start, int count, float temperature)
    {
        Assert.Equal(id, reply.RequestId);
        using var reference = new ReferenceTeacher(checkpoint);
        TestImages.AssertClose(reference.LogProbs(TestImages.Pixels(start, count), count, temperature), TestImages.LogProbs(reply), 1e-4);
    }

    private static void AssertStopping(RpcException error, string says)
    {
        Assert.True(error.StatusCode == StatusCode.Unavailable, error.ToString());
        Assert.StartsWith(StatusDetails.StoppingPrefix, error.Status.Detail);
        Assert.Contains(says, error.Status.Detail);
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.Elapsed > Patience) Assert.Fail($"after {Patience.TotalSeconds} s still not: {what}.");
            await Task.Delay(20);
        }
    }

    /// <summary>A cache that holds every lookup until <see cref="Release"/>, answering all misses then; it stores nothing.</summary>
    private sealed class HeldCache : ISoftTargetCache
    {
        private readonly TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int held;

        /// <summary>Lookups asked for so far.</summary>
        public int Held => Volatile.Read(ref held);

        public void Release() => released.TrySetResult();

        public async Task<byte[]?[]> GetManyAsync(IReadOnlyList<byte[]> keys, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref held);
            await released.Task.WaitAsync(cancellationToken);
            return new byte[]?[keys.Count];
        }

        public Task SetManyAsync(IReadOnlyList<byte[]> keys, IReadOnlyList<byte[]> values, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
