using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using TeacherStudent.Contracts.V1;

namespace TeacherStudent.EndToEnd.Tests;

/// <summary>Faults and load against a real teacher process (and a real Redis).</summary>
public sealed class FaultTests : IDisposable
{
    private readonly string workDirectory = Directory.CreateTempSubdirectory("ts-faults-").FullName;

    [Fact]
    public async Task TwoStudentsSeeNoErrorAndEveryTargetIsCorrectWhileRedisStopsAndComesBack()
    {
        using var redis = RedisServer.StartNew();
        using var teacher = await ServedTeacher.StartAsync(workDirectory, $"--Cache:Redis={redis.ConnectionString}");
        string[] Student(string run) =>
        [
            "train", "--mode", "online", "--architecture", "mlp", "--width", "32", "--epochs", "3",
            "--train-examples", "12000", "--eval-examples", "500", "--teacher-address", teacher.Address,
            "--run-directory", Path.Combine(workDirectory, run),
        ];
        using var first = RunningProcess.Start(Builds.StudentTrainer, Student("a"));
        using var second = RunningProcess.Start(Builds.StudentTrainer, Student("b"));
        using var checker = teacher.Client.SoftTargets();
        async Task<SoftTargetsResponse> AskAsync(int start)
        {
            await checker.RequestStream.WriteAsync(ServedTeacher.Request(start, 16, 2f));
            Assert.True(await checker.ResponseStream.MoveNext(CancellationToken.None));
            var reply = checker.ResponseStream.Current;
            teacher.AssertCorrect(reply, start, 16, 2f);
            return reply;
        }

        await first.WaitForAsync(@"epoch 1: train loss", TimeSpan.FromMinutes(3));
        await AskAsync(0);
        Assert.Equal(16, (await AskAsync(0)).CacheHits); // Redis answers

        redis.Stop();
        Assert.False(first.HasExited && second.HasExited, "the students finished before Redis stopped; the test proves nothing.");
        for (int i = 0; i < 5; i++) await AskAsync(100 + 16 * i); // computed, correct, no error
        await Task.Delay(TimeSpan.FromSeconds(2));
        redis.Start();

        int hits = 0;
        for (int attempt = 0; attempt < 100 && hits < 16; attempt++)
        {
            await AskAsync(500);
            hits = (await AskAsync(500)).CacheHits;
            if (hits < 16) await Task.Delay(200);
        }
        Assert.Equal(16, hits); // the cache came back by itself
        Assert.True(await first.WaitForExitAsync(TimeSpan.FromMinutes(4)) == 0, first.Output);
        Assert.True(await second.WaitForExitAsync(TimeSpan.FromMinutes(4)) == 0, second.Output);
        Assert.DoesNotContain("error", first.Output + second.Output, StringComparison.OrdinalIgnoreCase);
        await checker.RequestStream.CompleteAsync();
    }

    [Fact]
    public async Task EightStudentsForABoundedTimeSeeNoErrorAndTheTeacherMemoryStaysFlat()
    {
        // Memory is read in phases counted in batches, not seconds: on a loaded machine the first
        // seconds answer few batches, and the runtime is still warming up (JIT, threads, pools), so a
        // reading at a fixed time compared warm-up with steady state. The warm reading comes after
        // WarmBatches, the last after as many again and at least MinimumSteady more seconds.
        const int WarmBatches = 400;
        var minimumSteady = TimeSpan.FromSeconds(10);
        var limit = TimeSpan.FromMinutes(3);
        using var teacher = await ServedTeacher.StartAsync(workDirectory);
        using var stop = new CancellationTokenSource();
        long answered = 0;

        var students = Enumerable.Range(0, 8).Select(async s =>
        {
            var random = new Random(s);
            using var stream = teacher.Client.SoftTargets();
            while (!stop.IsCancellationRequested)
            {
                // A pool of 3,000 images and three temperatures: hits and misses both.
                int start = random.Next(0, 3000 - 32);
                float t = new[] { 1f, 2f, 4f }[random.Next(3)];
                await stream.RequestStream.WriteAsync(ServedTeacher.Request(start, 32, t, $"{s}"));
                Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
                var reply = stream.ResponseStream.Current;
                Assert.True(reply.ResultCase == SoftTargetsResponse.ResultOneofCase.LogProbs, reply.Error?.Message);
                Assert.Equal([32L, 10L], reply.LogProbs.Shape);
                Interlocked.Increment(ref answered);
            }
            await stream.RequestStream.CompleteAsync();
        }).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        async Task WaitForAsync(Func<bool> condition)
        {
            while (!condition() && clock.Elapsed < limit && students.All(t => !t.IsCompleted)) await Task.Delay(100);
        }
        await WaitForAsync(() => Interlocked.Read(ref answered) >= WarmBatches);
        long warmRss = ResidentBytes(teacher.Process.Id), warmAnswered = Interlocked.Read(ref answered);
        var warmAt = clock.Elapsed;
        await WaitForAsync(() => Interlocked.Read(ref answered) >= 2 * warmAnswered && clock.Elapsed - warmAt >= minimumSteady);
        long endRss = ResidentBytes(teacher.Process.Id), steady = Interlocked.Read(ref answered) - warmAnswered;
        stop.Cancel();
        await Task.WhenAll(students);

        Assert.True(warmAnswered >= WarmBatches && steady >= warmAnswered,
            $"only {warmAnswered} + {steady} batches answered in {clock.Elapsed}");
        Assert.True(endRss - warmRss < 64L << 20,
            $"teacher resident memory grew from {warmRss >> 20} MiB to {endRss >> 20} MiB over {steady} batches after {warmAnswered} to warm up");
        var late = teacher.Client.SoftTargets();
        await late.RequestStream.WriteAsync(ServedTeacher.Request(7, 4, 1f));
        Assert.True(await late.ResponseStream.MoveNext(CancellationToken.None));
        teacher.AssertCorrect(late.ResponseStream.Current, 7, 4, 1f);
        late.Dispose();
    }

    [Fact]
    public async Task AThousandMalformedRequestsEachGetTheirStatusAndTheServiceStaysHealthy()
    {
        using var teacher = await ServedTeacher.StartAsync(workDirectory, "--Teacher:MaxBatch=64");
        var cases = MalformedRequests.Generate(seed: 2026, count: 1000, maxBatch: 64);

        // Four streams at once, each answering its share in order, with a good request now and then.
        await Task.WhenAll(cases.Chunk(250).Select(async share =>
        {
            using var stream = teacher.Client.SoftTargets();
            int n = 0;
            foreach (var (request, expected) in share)
            {
                await stream.RequestStream.WriteAsync(request);
                Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
                var reply = stream.ResponseStream.Current;
                Assert.Equal(SoftTargetsResponse.ResultOneofCase.Error, reply.ResultCase);
                Assert.True((StatusCode)reply.Error.Code == expected, $"{request.RequestId}: {(StatusCode)reply.Error.Code} '{reply.Error.Message}', expected {expected}");
                Assert.False(string.IsNullOrWhiteSpace(reply.Error.Message));
                if (++n % 50 == 0)
                {
                    await stream.RequestStream.WriteAsync(ServedTeacher.Request(n, 8, 3f));
                    Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
                    teacher.AssertCorrect(stream.ResponseStream.Current, n, 8, 3f);
                }
            }
            await stream.RequestStream.CompleteAsync();
        }));

        // Bytes that are no protobuf message at all are answered INVALID_ARGUMENT in their place, on
        // streams that read on, and cost the log one warning line, no stack trace.
        var garbage = new Method<byte[], byte[]>(MethodType.DuplexStreaming, "distill.v1.Teacher", "SoftTargets",
            Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        var invoker = teacher.Channel.CreateCallInvoker();
        var random = new Random(7);
        for (int i = 0; i < 20; i++)
        {
            using var call = invoker.AsyncDuplexStreamingCall(garbage, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20)));
            for (int j = 0; j < 3; j++)
            {
                var bytes = new byte[random.Next(1, 2000)];
                random.NextBytes(bytes);
                bytes[0] = 0xff; // wire type 7, which protobuf does not have, whatever follows
                await call.RequestStream.WriteAsync(bytes);
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
                var reply = SoftTargetsResponse.Parser.ParseFrom(call.ResponseStream.Current);
                Assert.Equal((int)StatusCode.InvalidArgument, reply.Error.Code);
                Assert.Contains("not a valid distill.v1.SoftTargetsRequest message", reply.Error.Message);
            }
            await call.RequestStream.CompleteAsync();
            Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        }
        Assert.Single(Regex.Matches(teacher.Process.Output, "that is no valid distill.v1.SoftTargetsRequest"));
        Assert.DoesNotContain("Exception was thrown by handler", teacher.Process.Output);
        Assert.DoesNotContain("InvalidProtocolBufferException", teacher.Process.Output);

        // Still healthy: a good request is answered correctly, Describe answers, the process runs.
        Assert.False(teacher.Process.HasExited);
        using var after = teacher.Client.SoftTargets();
        await after.RequestStream.WriteAsync(ServedTeacher.Request(0, 16, 1f));
        Assert.True(await after.ResponseStream.MoveNext(CancellationToken.None));
        teacher.AssertCorrect(after.ResponseStream.Current, 0, 16, 1f);
        Assert.Contains((await teacher.Client.DescribeAsync(new DescribeRequest())).Teachers, t => t.Name == "fashion");
    }

    private static long ResidentBytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    public void Dispose() => Directory.Delete(workDirectory, recursive: true);
}
