using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Health.V1;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Models;

namespace TeacherStudent.EndToEnd.Tests;

/// <summary>
/// A teacher process stopped with SIGTERM, as Kubernetes stops a pod in a rolling update or a
/// scale-down: health says NOT_SERVING first, open streams answer what they have read and end with
/// UNAVAILABLE, and a student on two replicas loses nothing and ends as if nothing had happened.
/// </summary>
public sealed class TeacherStopTests : IDisposable
{
    private readonly string workDirectory = Directory.CreateTempSubdirectory("ts-stop-").FullName;

    [Fact]
    public async Task ATeacherSentSigtermSaysNotServingAnswersWhatItReadThenEndsItsStreamWithUnavailableAndExitsCleanly()
    {
        // Arrange: a health delay, as in a cluster; a stream with three requests sent and not yet read back.
        using var teacher = await ServedTeacher.StartAsync(Directory.CreateDirectory(Path.Combine(workDirectory, "teacher")).FullName,
            "--Shutdown:HealthDelaySeconds=5");
        var health = new Health.HealthClient(teacher.Channel);
        using var stream = teacher.Client.SoftTargets();
        for (int i = 0; i < 3; i++) await stream.RequestStream.WriteAsync(ServedTeacher.Request(16 * i, 16, 2f, $"sent {i}"));
        var first = stream.ResponseStream.MoveNext(CancellationToken.None);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);

        // Act
        teacher.Process.Terminate();
        var watch = Stopwatch.StartNew();
        while ((await health.CheckAsync(new HealthCheckRequest { Service = "fashion" })).Status != HealthCheckResponse.Types.ServingStatus.NotServing)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "health never said NOT_SERVING");
            await Task.Delay(20);
        }
        var replies = new List<SoftTargetsResponse>();
        var end = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            if (await first) replies.Add(stream.ResponseStream.Current);
            while (await stream.ResponseStream.MoveNext(CancellationToken.None)) replies.Add(stream.ResponseStream.Current);
        });
        var exitCode = await teacher.Process.WaitForExitAsync(TimeSpan.FromMinutes(1));

        // Assert: the three requests answered, correctly and in order, then UNAVAILABLE saying why.
        Assert.Equal(["sent 0", "sent 1", "sent 2"], replies.Select(r => r.RequestId));
        for (int i = 0; i < 3; i++) teacher.AssertCorrect(replies[i], 16 * i, 16, 2f);
        Assert.True(end.StatusCode == StatusCode.Unavailable, end.ToString());
        Assert.StartsWith(StatusDetails.StoppingPrefix, end.Status.Detail);
        Assert.Equal(0, exitCode);
        Assert.Contains("Drained: all 1 open calls", teacher.Process.Output);
    }

    [Fact]
    public async Task AStudentOnTwoReplicasOneOfThemStoppedMidRunGetsEveryBatchOnceAndEndsWithTheModelOfAnUndisturbedRun()
    {
        // Arrange: the replicas share one Redis, as in the cluster. An undisturbed run goes first,
        // against a third process over the same checkpoint and Redis: every soft target the second
        // run asks for is then in the cache, the very bytes the first run got, so the two runs
        // learn from the same numbers (a forward recomputed in another batch need not be equal to
        // the last bit) and, trained on one thread, must end with the same weights.
        using var redis = RedisServer.StartNew();
        string[] Served(string name) => [$"--Cache:Redis={redis.ConnectionString}", "--Logging:LogLevel:TeacherStudent.Teacher.Rpc=Debug"];
        string[] Student(string run, string address) =>
        [
            "train", "--mode", "online", "--architecture", "mlp", "--width", "32", "--epochs", "4",
            "--train-examples", "12000", "--eval-examples", "500", "--threads", "1", "--teacher-address", address,
            "--teacher-retry-seconds", "120", "--run-directory", Path.Combine(workDirectory, run),
        ];
        using var undisturbedTeacher = await ServedTeacher.StartAsync(Folder("c"), Served("c"));
        using (var undisturbed = RunningProcess.Start(Builds.StudentTrainer, Student("undisturbed", undisturbedTeacher.Address)))
            Assert.True(await undisturbed.WaitForExitAsync(TimeSpan.FromMinutes(5)) == 0, undisturbed.Output);
        using var a = await ServedTeacher.StartAsync(Folder("a"), Served("a"));
        using var b = await ServedTeacher.StartAsync(Folder("b"), Served("b"));
        ServedTeacher[] replicas = [a, b];

        // Act: once the student has an epoch behind it, the replica answering it is sent SIGTERM.
        using var student = RunningProcess.Start(Builds.StudentTrainer, Student("disturbed", $"{a.Address},{b.Address}"));
        await student.WaitForAsync(@"epoch 1: train loss", TimeSpan.FromMinutes(3));
        var stopped = replicas.MaxBy(r => Answered(r.Process).Requests)!;
        var survivor = replicas.Single(r => r != stopped);
        stopped.Process.Terminate();
        Assert.False(student.HasExited, "the student finished before its teacher was stopped; the test proves nothing.");
        Assert.True(await student.WaitForExitAsync(TimeSpan.FromMinutes(5)) == 0, student.Output);
        Assert.Equal(0, await stopped.Process.WaitForExitAsync(TimeSpan.FromMinutes(1)));

        // Assert: the same model as the undisturbed run, from the same teacher version; the stopped
        // replica drained; both answered; over both, as many requests and examples as the undisturbed
        // run needed, so none was answered twice and none lost.
        Assert.Equal(Checkpoint.Digest(Path.Combine(workDirectory, "undisturbed", "model.ckpt")),
            Checkpoint.Digest(Path.Combine(workDirectory, "disturbed", "model.ckpt")));
        Assert.Equal(TeacherVersions("undisturbed"), TeacherVersions("disturbed"));
        Assert.Contains("Drained: all", stopped.Process.Output);
        var expected = Answered(undisturbedTeacher.Process);
        var fromStopped = Answered(stopped.Process);
        await UntilAsync(() => Answered(survivor.Process).Requests >= expected.Requests - fromStopped.Requests);
        var fromSurvivor = Answered(survivor.Process);
        Assert.True(fromStopped.Requests > 0 && fromSurvivor.Requests > 0, $"stopped {fromStopped}, survivor {fromSurvivor}");
        Assert.Equal(expected, (fromStopped.Requests + fromSurvivor.Requests, fromStopped.Examples + fromSurvivor.Examples));
        Assert.Equal(4 * 12000, expected.Examples);
    }

    private string Folder(string name) => Directory.CreateDirectory(Path.Combine(workDirectory, name)).FullName;

    private string[] TeacherVersions(string run)
    {
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(workDirectory, run, "report.json")));
        return [.. report.RootElement.GetProperty("teacher_versions").EnumerateArray().Select(v => v.GetString()!)];
    }

    // Requests and examples a teacher process says it answered (its Debug log of TeacherGrpcService).
    private static (int Requests, int Examples) Answered(RunningProcess teacher)
    {
        var answers = Regex.Matches(teacher.Output, @"Answered \S+ for fashion: (\d+) examples");
        return (answers.Count, answers.Sum(m => int.Parse(m.Groups[1].Value)));
    }

    // A process's log reaches this one a little after its replies do.
    private static async Task UntilAsync(Func<bool> condition)
    {
        for (var watch = Stopwatch.StartNew(); !condition() && watch.Elapsed < TimeSpan.FromSeconds(30);) await Task.Delay(50);
    }

    public void Dispose() => Directory.Delete(workDirectory, recursive: true);
}
