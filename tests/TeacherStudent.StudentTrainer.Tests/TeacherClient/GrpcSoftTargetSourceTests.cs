using Grpc.Core;
using Grpc.Net.Client;
using TeacherStudent.StudentTrainer.TeacherClient;
using TeacherStudent.StudentTrainer.Tests.Fixtures;

namespace TeacherStudent.StudentTrainer.Tests.TeacherClient;

/// <summary>The soft-target client against a scripted teacher service over real HTTP/2.</summary>
public sealed class GrpcSoftTargetSourceTests : IAsyncLifetime
{
    private static readonly byte[] Pixels = new byte[4 * 28 * 28];

    private readonly List<string> log = [];
    private ScriptedTeacherServer server = null!;
    private GrpcChannel channel = null!;

    public async Task InitializeAsync()
    {
        server = await ScriptedTeacherServer.StartAsync();
        channel = GrpcChannel.ForAddress(server.Address);
    }

    private GrpcSoftTargetSource Source(double retrySeconds = 30, string apiKey = "") =>
        new(new Contracts.V1.Teacher.TeacherClient(channel), new TeacherClientOptions { ApiKey = apiKey, TimeoutSeconds = 30 }, 4, [1, 28, 28],
            new TeacherRetry(TimeSpan.FromSeconds(retrySeconds), line => { lock (log) log.Add(line); },
                firstDelay: TimeSpan.FromMilliseconds(20), maxDelay: TimeSpan.FromMilliseconds(200)));

    [Fact]
    public async Task ABatchInFlightWhenTheTeacherCutsTheStreamIsAskedAgainOnANewStream()
    {
        server.Teacher.CutOn[2] = true;
        await using var source = Source();

        var answers = new List<string>();
        for (int i = 0; i < 3; i++) answers.Add((await source.GetAsync(Pixels, 4, CancellationToken.None)).TeacherVersion);

        Assert.Equal([ScriptedTeacher.Version, ScriptedTeacher.Version, ScriptedTeacher.Version], answers);
        Assert.Equal(2, server.Teacher.Streams);
        Assert.Equal(4, server.Teacher.Requests); // the cut one, asked again
        Assert.Single(log);
    }

    [Fact]
    public async Task OverlappingRequestsAllGetTheirAnswerAcrossACutStream()
    {
        server.Teacher.CutOn[3] = true;
        await using var source = Source();

        var batches = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => source.GetAsync(Pixels, 4, CancellationToken.None)));

        Assert.All(batches, b => Assert.Equal((4, ScriptedTeacher.Classes), (b.Count, b.Classes)));
        Assert.All(batches, b => Assert.All(b.LogProbs, p => Assert.Equal(-MathF.Log(10), p, 5)));
        Assert.True(server.Teacher.Streams >= 2);
    }

    [Fact]
    public async Task RequestsWaitForATeacherThatStopsAndComesBackOnItsPort()
    {
        await using var source = Source();
        await source.GetAsync(Pixels, 4, CancellationToken.None);
        await server.StopAsync();

        var pending = source.GetAsync(Pixels, 4, CancellationToken.None);
        await RetriedAtLeastOnceAsync();
        Assert.False(pending.IsCompleted);
        await server.RestartAsync();
        var batch = await pending;

        Assert.Equal(ScriptedTeacher.Version, batch.TeacherVersion);
        Assert.NotEmpty(log);
        Assert.All(log, line => Assert.Matches(@"^teacher unavailable \(\w+\), retrying in \d+\.\ds \(attempt \d+\)$", line));
    }

    [Fact]
    public async Task ABatchErrorIsNotRetriedAndTheStreamGoesOnServing()
    {
        server.Teacher.RejectOn[1] = true;
        await using var source = Source();

        var error = await Assert.ThrowsAsync<TeacherBatchException>(() => source.GetAsync(Pixels, 4, CancellationToken.None));
        var next = await source.GetAsync(Pixels, 4, CancellationToken.None);

        Assert.Equal(StatusCode.InvalidArgument, error.Code);
        Assert.Equal(ScriptedTeacher.Version, next.TeacherVersion);
        Assert.Equal((1, 2), (server.Teacher.Streams, server.Teacher.Requests));
        Assert.Empty(log);
    }

    [Fact]
    public async Task DescribeIsRetriedUntilTheTeacherIsBack()
    {
        await using var source = Source();
        await server.StopAsync();

        var describing = source.DescribeAsync(CancellationToken.None);
        await RetriedAtLeastOnceAsync();
        Assert.False(describing.IsCompleted);
        await server.RestartAsync();

        Assert.Equal(ScriptedTeacher.Version, (await describing).Version);
        Assert.NotEmpty(log);
    }

    [Fact]
    public async Task TheApiKeyTravelsWithEveryCall()
    {
        await using var source = Source(apiKey: "k-123");

        await source.DescribeAsync(CancellationToken.None);
        await source.GetAsync(Pixels, 4, CancellationToken.None);

        Assert.Equal(["k-123", "k-123"], server.Teacher.ApiKeys);
    }

    [Fact]
    public async Task WithoutARetryBudgetATeacherThatIsGoneFailsTheCallAtOnce()
    {
        await using var source = Source(retrySeconds: 0);
        await server.StopAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => source.GetAsync(Pixels, 4, CancellationToken.None));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Empty(log);
    }

    /// <summary>
    /// Waits for the first retry line rather than for a fixed time: on a loaded machine the first attempt
    /// may not have failed yet after a few hundred milliseconds, and a teacher back by then is never retried.
    /// </summary>
    private async Task RetriedAtLeastOnceAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            lock (log) if (log.Count > 0) return;
            Assert.True(DateTime.UtcNow < deadline, "the source never logged a retry while the teacher was down");
            await Task.Delay(20);
        }
    }

    public async Task DisposeAsync()
    {
        channel.Dispose();
        await server.DisposeAsync();
    }
}
