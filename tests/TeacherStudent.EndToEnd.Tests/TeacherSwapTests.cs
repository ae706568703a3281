using System.Runtime.InteropServices;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Training;
using static TorchSharp.torch;

namespace TeacherStudent.EndToEnd.Tests;

/// <summary>A teacher process whose checkpoint is replaced again and again while two streams keep asking.</summary>
public sealed class TeacherSwapTests : IDisposable
{
    private readonly string workDirectory = Directory.CreateTempSubdirectory("ts-e2e-").FullName;

    [Fact]
    public async Task EveryReplyDuringSwapsCarriesTheTargetsOfTheVersionItNames()
    {
        // Arrange: five checkpoints, kept by version; the first is served, the others are dropped
        // into the watched folder one after the other while the streams run.
        var versions = new Dictionary<string, string>();
        var checkpoints = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            var path = Path.Combine(workDirectory, $"v{i}.ckpt");
            lock (ServedTeacher.Images)
            {
                manual_seed(100 + i);
                var spec = ModelSpec.ForFashionMnist(ConvNet.Name, 8);
                using var model = spec.Create();
                Checkpoint.Save(path, spec, model);
            }
            versions[Checkpoint.Digest(path)] = path;
            checkpoints.Add(path);
        }
        var watched = Directory.CreateDirectory(Path.Combine(workDirectory, "watched")).FullName;
        using var process = RunningProcess.Start(Builds.Teacher,
            ["--urls", "http://127.0.0.1:0", "--Teacher:Name=fashion", $"--Teacher:Checkpoint={checkpoints[0]}",
             $"--Registry:WatchDirectory={watched}", "--Registry:WatchDebounceMilliseconds=50"]);
        var address = await process.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1));
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(address);
        var client = new Teacher.TeacherClient(channel);

        // Act: two streams, each with four requests in flight, while the checkpoint changes four times.
        using var stop = new CancellationTokenSource();
        var replies = new List<(SoftTargetsResponse Reply, int Start)>();
        var streams = Enumerable.Range(0, 2).Select(s => Task.Run(async () =>
        {
            using var call = client.SoftTargets();
            var sent = new Queue<int>();
            for (int n = 0; ; n++)
            {
                var start = (s * 5000 + n * 16) % 9900;
                await call.RequestStream.WriteAsync(ServedTeacher.Request(start, 16, 2f, $"{s}-{n}"));
                sent.Enqueue(start);
                if (sent.Count < 4) continue;
                Assert.True(await call.ResponseStream.MoveNext(), "the teacher closed the stream.");
                lock (replies) replies.Add((call.ResponseStream.Current, sent.Dequeue()));
                if (stop.IsCancellationRequested) break;
            }
            await call.RequestStream.CompleteAsync();
            while (await call.ResponseStream.MoveNext()) lock (replies) replies.Add((call.ResponseStream.Current, sent.Dequeue()));
        })).ToArray();
        // Each swap comes once the version before it has answered (not after a fixed pause, which a
        // loaded machine could spend without a reply), and the streams stop once the last one has.
        string served = Checkpoint.Digest(checkpoints[0]);
        foreach (var next in checkpoints.Skip(1))
        {
            await AnsweredByAsync(replies, served, streams);
            var staged = Path.Combine(workDirectory, "staged.ckpt");
            File.Copy(next, staged, overwrite: true);
            File.Move(staged, Path.Combine(watched, "fashion.ckpt"), overwrite: true);
            served = Checkpoint.Digest(next);
            await ServedTeacherVersionAsync(client, served);
        }
        await AnsweredByAsync(replies, served, streams);
        stop.Cancel();
        await Task.WhenAll(streams);

        // Assert: every version served answered something, and every reply holds exactly the
        // forward of the version it names.
        var seen = replies.Select(r => r.Reply.TeacherVersion).Distinct().ToArray();
        Assert.Equal(versions.Keys.Order(), seen.Order());
        var references = versions.ToDictionary(v => v.Key, v => ModelSoftTargetSource.FromCheckpoint("fashion", v.Value, 2f, CPU));
        try
        {
            foreach (var (reply, start) in replies)
            {
                Assert.Equal(SoftTargetsResponse.ResultOneofCase.LogProbs, reply.ResultCase);
                var expected = references[reply.TeacherVersion].LogProbs(ServedTeacher.Images.Pixels.AsSpan(start * 784, 16 * 784), 16);
                var actual = MemoryMarshal.Cast<byte, float>(reply.LogProbs.Data.Span);
                for (int i = 0; i < expected.Length; i++)
                    Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-4, $"reply {reply.RequestId} ({reply.TeacherVersion}) value {i}: {actual[i]} != {expected[i]}");
            }
        }
        finally
        {
            foreach (var reference in references.Values) reference.Dispose();
        }
    }

    // Waits until a reply from the version served has come back (or a stream has failed, which the caller then reports).
    private static async Task AnsweredByAsync(List<(SoftTargetsResponse Reply, int Start)> replies, string version, Task[] streams)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            bool answered;
            lock (replies) answered = replies.Any(r => r.Reply.TeacherVersion == version);
            if (answered || streams.Any(s => s.IsFaulted)) return;
            Assert.True(DateTime.UtcNow < deadline, $"no reply of version {version} within a minute.");
            await Task.Delay(20);
        }
    }

    // Waits until Describe names the version just dropped into the folder.
    private static async Task ServedTeacherVersionAsync(Teacher.TeacherClient client, string version)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await client.DescribeAsync(new DescribeRequest { Teacher = "fashion" })).Teachers.Single().Version != version)
        {
            Assert.True(DateTime.UtcNow < deadline, $"version {version} was never swapped in.");
            await Task.Delay(20);
        }
    }

    public void Dispose() => Directory.Delete(workDirectory, recursive: true);
}
