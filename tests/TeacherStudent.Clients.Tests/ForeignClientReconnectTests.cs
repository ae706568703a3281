using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Training;
using static TorchSharp.torch;

namespace TeacherStudent.Clients.Tests;

/// <summary>
/// The Python and Node clients on two teacher replicas (processes), one of them sent SIGTERM in
/// the middle of a long stream: the client goes on with the other, and every batch is answered
/// exactly once, correctly.
/// </summary>
public sealed class ForeignClientReconnectTests : IDisposable
{
    private const int Images = 10000, Batch = 16, Requests = Images / Batch;
    private readonly TemporaryDirectory directory = new("clients-reconnect-tests");

    [Theory]
    [InlineData("python")]
    [InlineData("node")]
    public async Task AClientWhoseReplicaIsStoppedMidStreamGoesOnWithTheOtherAndGetsEveryBatchOnce(string client)
    {
        // Arrange: two replicas of one checkpoint, each logging every request it answers.
        var checkpoint = directory.File("fashion.ckpt");
        manual_seed(11);
        var spec = ModelSpec.ForFashionMnist(ConvNet.Name, 8);
        using (var model = spec.Create()) Checkpoint.Save(checkpoint, spec, model);
        using var first = Serve(checkpoint);
        using var second = Serve(checkpoint);
        string[] addresses = [await Address(first), await Address(second)];
        var output = directory.File($"{client}.npy");
        string[] arguments = ["soft-targets", "--address", string.Join(",", addresses), "--images", $"{Images}", "--batch", $"{Batch}",
            "--window", "8", "--temperature", "2.5", "--retry-seconds", "60", "--out", output];

        // Act: once the first replica has answered 40 requests, it is sent SIGTERM.
        var run = client == "python" ? ClientProcess.PythonAsync(arguments) : ClientProcess.NodeAsync(arguments);
        for (var watch = Stopwatch.StartNew(); Answered(first) < 40; await Task.Delay(20))
        {
            Assert.True(watch.Elapsed < TimeSpan.FromMinutes(2) && !run.IsCompleted, $"the first replica answered {Answered(first)} requests");
        }
        first.Terminate();
        Assert.False(run.IsCompleted, "the client finished before its replica was stopped; the test proves nothing.");
        var result = await run;
        Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromMinutes(1)));

        // Assert: every image's targets, correct; each request answered once over both replicas.
        Assert.True(result.ExitCode == 0, result.ToString());
        using var summary = JsonDocument.Parse(result.Output);
        Assert.Equal(Requests, summary.RootElement.GetProperty("requests").GetInt32());
        var (shape, values) = NpyFile.ReadFloats(output);
        Assert.Equal([(long)Images, 10L], shape);
        AssertCloseToReference(checkpoint, values);
        Assert.Contains("Drained: all", first.Output);
        int fromFirst = Answered(first);
        for (var watch = Stopwatch.StartNew(); fromFirst + Answered(second) < Requests && watch.Elapsed < TimeSpan.FromSeconds(30);)
            await Task.Delay(50); // the survivor's log reaches this process a little after its replies
        Assert.True(Answered(second) > 0, "the second replica answered nothing");
        Assert.Equal(Requests, fromFirst + Answered(second));
    }

    private static RunningProcess Serve(string checkpoint) => RunningProcess.Start(Builds.Teacher,
    [
        "--urls", "http://127.0.0.1:0", "--Teacher:Name=fashion", $"--Teacher:Checkpoint={checkpoint}", "--Teacher:Device=cpu",
        "--Logging:LogLevel:TeacherStudent.Teacher.Rpc=Debug",
    ]);

    private static async Task<string> Address(RunningProcess teacher) =>
        (await teacher.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1)))["http://".Length..];

    private static int Answered(RunningProcess teacher) => Regex.Matches(teacher.Output, @"Answered \S+ for fashion").Count;

    // The same checkpoint's forward in this process, over all the images at once: other batches
    // than the service's, so equal to float32 rounding, not to the bit.
    private static void AssertCloseToReference(string checkpoint, float[] values)
    {
        var images = FashionMnist.LoadTest(FashionMnist.DefaultDirectory);
        using var reference = ModelSoftTargetSource.FromCheckpoint("fashion", checkpoint, 2.5, CPU);
        var expected = reference.LogProbs(images.Pixels.AsSpan(0, Images * 784), Images);
        Assert.Equal(expected.Length, values.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - values[i]) < 1e-4, $"value {i} (image {i / 10}): {values[i]} != {expected[i]}");
    }

    public void Dispose() => directory.Dispose();
}
