using Google.Protobuf;
using Grpc.Net.Client;
using TeacherStudent.Contracts.V1;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.Tests.TeacherClient;

/// <summary>
/// Two teacher service processes behind one static list of addresses, as a student reaches the
/// replicas of a Kubernetes Deployment. The two are given different weights only so that every
/// reply's version says which replica answered it.
/// </summary>
public sealed class ReplicatedTeacherTests : IAsyncLifetime
{
    private readonly TemporaryDirectory directory = new("replicated-teacher-tests");
    private List<TeacherReplica> replicas = [];

    public async Task InitializeAsync() =>
        replicas = await TeacherReplicas.StartAsync(directory, "http", [1, 2], "--Logging:LogLevel:TeacherStudent.Teacher.Rpc=Debug");

    private string Addresses => string.Join(",", replicas.Select(r => r.Address));

    private static SoftTargetsRequest Images(int count) => new()
    {
        Teacher = "fashion",
        Temperature = 2,
        Inputs = new Contracts.V1.Tensor { Shape = { count, 1, 28, 28 }, Dtype = DType.Uint8, Data = ByteString.CopyFrom(new byte[count * 784]) },
    };

    private static TeacherClientOptions Options => new() { Teacher = "fashion", TimeoutSeconds = 30 };

    [Fact]
    public async Task CallsAndStreamsOnOneChannelAreSpreadOverEveryReplica()
    {
        using var channel = TeacherChannel.Create(Addresses, new GrpcChannelOptions());
        var client = new Teacher.TeacherClient(channel);

        // Unary calls are balanced one by one. Round-robin goes over the replicas connected so
        // far, so the first calls may all reach the first replica to answer; both within 50.
        var described = new List<string>();
        while (described.Distinct().Count() < 2 && described.Count < 50)
            described.Add((await client.DescribeAsync(new DescribeRequest())).Teachers[0].Version);

        // A stream stays on the replica it was opened on: streams opened one after another alternate.
        var streamed = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            await using var connection = new SoftTargetsConnection(client, Options);
            streamed.Add((await connection.AskAsync(Images(2), CancellationToken.None)).TeacherVersion);
        }

        var versions = replicas.Select(r => r.Version).Order().ToArray();
        Assert.Equal(versions, described.Distinct().Order());
        Assert.Equal(versions, streamed.Distinct().Order());
    }

    [Fact]
    public async Task AStudentWhoseReplicaIsKilledMidRunGoesOnWithTheOtherAndLosesNoBatch()
    {
        using var channel = TeacherChannel.Create(Addresses, new GrpcChannelOptions());
        var retries = new List<string>();
        await using var connection = new SoftTargetsConnection(new Teacher.TeacherClient(channel), Options);
        var retry = new TeacherRetry(TimeSpan.FromSeconds(30), line => { lock (retries) retries.Add(line); },
            firstDelay: TimeSpan.FromMilliseconds(100), maxDelay: TimeSpan.FromSeconds(1));

        // Act: 40 batches, four in flight at a time; the replica answering is killed after the tenth.
        var answeredBy = new string[40];
        TeacherReplica? killed = null;
        for (int start = 0; start < answeredBy.Length; start += 4)
        {
            var batch = Enumerable.Range(start, 4)
                .Select(async i =>
                {
                    var reply = await retry.ExecuteAsync(c => connection.AskAsync(Images(8), c), CancellationToken.None);
                    Assert.Equal([8L, 10L], reply.LogProbs.Shape);
                    answeredBy[i] = reply.TeacherVersion;
                })
                .ToArray();
            await Task.WhenAll(batch);
            if (killed is null && start + 4 >= 10)
            {
                killed = replicas.Single(r => r.Version == answeredBy[start]);
                killed.Process.Kill();
            }
        }

        // Assert: every batch was answered; those after the kill by the replica still running.
        var survivor = replicas.Single(r => r != killed).Version;
        Assert.All(answeredBy, v => Assert.NotNull(v));
        Assert.All(answeredBy[12..], v => Assert.Equal(survivor, v));
        Assert.Contains(killed!.Version, answeredBy[..12]);
    }

    [Fact]
    public async Task AStudentWhoseReplicaIsStoppedMidRunGetsEveryBatchAnsweredExactlyOnce()
    {
        using var channel = TeacherChannel.Create(Addresses, new GrpcChannelOptions());
        await using var connection = new SoftTargetsConnection(new Teacher.TeacherClient(channel), Options);
        var retry = new TeacherRetry(TimeSpan.FromSeconds(60), _ => { }, firstDelay: TimeSpan.FromMilliseconds(100), maxDelay: TimeSpan.FromSeconds(1));
        var answeredBy = new List<string>();
        async Task AskFourAsync()
        {
            var replies = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => retry.ExecuteAsync(c => connection.AskAsync(Images(8), c), CancellationToken.None)));
            Assert.All(replies, r => Assert.Equal([8L, 10L], r.LogProbs.Shape));
            answeredBy.AddRange(replies.Select(r => r.TeacherVersion));
        }

        // Act: batches four at a time; the replica answering is sent SIGTERM after the twelfth,
        // and the batches go on until it has stopped, and a few more.
        for (int i = 0; i < 3; i++) await AskFourAsync();
        var stopped = replicas.Single(r => r.Version == answeredBy[^1]);
        stopped.Process.Terminate();
        var patience = System.Diagnostics.Stopwatch.StartNew();
        while (!stopped.Process.HasExited && patience.Elapsed < TimeSpan.FromMinutes(1)) await AskFourAsync();
        int beforeExit = answeredBy.Count;
        for (int i = 0; i < 3; i++) await AskFourAsync();

        // Assert: the stopped replica ended well, having answered what it read; every batch was
        // answered, those after it stopped by the other; over both, each exactly once.
        Assert.Equal(0, await stopped.Process.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("Drained: all", stopped.Process.Output);
        var survivor = replicas.Single(r => r != stopped);
        Assert.All(answeredBy[beforeExit..], v => Assert.Equal(survivor.Version, v));
        int Answered(TeacherReplica r) => System.Text.RegularExpressions.Regex.Matches(r.Process.Output, "Answered \\d+ for fashion").Count;
        Assert.Equal(answeredBy.Count(v => v == stopped.Version), Answered(stopped));
        // The survivor's log reaches this process a little after its replies do.
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); replicas.Sum(Answered) < answeredBy.Count && wait.Elapsed < TimeSpan.FromSeconds(30);)
            await Task.Delay(50);
        Assert.Equal(answeredBy.Count, replicas.Sum(Answered));
    }

    public Task DisposeAsync()
    {
        foreach (var replica in replicas) replica.Process.Dispose();
        directory.Dispose();
        return Task.CompletedTask;
    }
}
