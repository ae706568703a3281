using System.Text.Json;

namespace TeacherStudent.EndToEnd.Tests;

/// <summary>Students as real processes, on a small subset of Fashion-MNIST.</summary>
public sealed class StudentProcessTests : IDisposable
{
    private readonly string workDirectory = Directory.CreateTempSubdirectory("ts-e2e-").FullName;

    [Fact]
    public async Task AStudentKilledMidRunResumesFromItsLastCheckpointAndEndsWithAllEpochs()
    {
        var run = Path.Combine(workDirectory, "killed");
        string[] args =
        [
            "train", "--mode", "supervised", "--architecture", "mlp", "--width", "256", "--epochs", "8",
            "--train-examples", "30000", "--eval-examples", "1000", "--threads", "1", "--run-directory", run,
        ];
        // Eight epochs of 30,000 at width 256 (0.6-0.8 s each here): seconds left after epoch 1 for
        // the kill to land in. With four of 12,000 at width 64 the run once ended before a busy test
        // host saw its first epoch line.

        using (var first = RunningProcess.Start(Builds.StudentTrainer, args))
        {
            await first.WaitForAsync(@"epoch 1: train loss", TimeSpan.FromMinutes(3));
            first.Kill();
            Assert.False(File.Exists(Path.Combine(run, "report.json")), "the first process finished before it was killed; the test proves nothing.");
        }

        using var second = RunningProcess.Start(Builds.StudentTrainer, args);
        Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromMinutes(3)));

        var resumedAfter = int.Parse(await second.WaitForAsync(@"resuming after epoch (\d+)", TimeSpan.Zero + TimeSpan.FromSeconds(1)));
        Assert.InRange(resumedAfter, 1, 7);
        Assert.DoesNotContain("epoch 1: train loss", second.Output);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "report.json")));
        var epochs = report.RootElement.GetProperty("history").EnumerateArray().Select(e => e.GetProperty("epoch").GetInt32()).ToArray();
        Assert.Equal(Enumerable.Range(1, 8), epochs);
        Assert.Equal(9, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length);
        Assert.True(report.RootElement.GetProperty("accuracy").GetDouble() > 0.7, second.Output);
    }

    [Fact]
    public async Task TheSameCommandRunTwiceInTwoProcessesEndsWithTheSameModel()
    {
        string[] Args(string run) =>
        [
            "train", "--mode", "supervised", "--architecture", "mlp", "--width", "32", "--epochs", "2",
            "--train-examples", "3000", "--eval-examples", "500", "--threads", "1", "--run-directory", Path.Combine(workDirectory, run),
        ];

        using (var first = RunningProcess.Start(Builds.StudentTrainer, Args("first")))
        using (var second = RunningProcess.Start(Builds.StudentTrainer, Args("second")))
        {
            Assert.True(await first.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 0, first.Output);
            Assert.True(await second.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 0, second.Output);
        }

        // Shuffles, dropout and augmentation are seeded alike in every process, so a resumed run repeats an interrupted one.
        Assert.Equal(
            TeacherStudent.Distillation.Models.Checkpoint.Digest(Path.Combine(workDirectory, "first", "model.ckpt")),
            TeacherStudent.Distillation.Models.Checkpoint.Digest(Path.Combine(workDirectory, "second", "model.ckpt")));
    }

    [Theory]
    [InlineData("--epochs", "ten", "Epochs")]
    [InlineData("--mode", "sideways", "Mode must be supervised, offline, online, pseudo or self")]
    [InlineData("--alpha", "1.5", "Alpha")]
    [InlineData("--data-directory", "/nonexistent/fashion", "dataset-fashion-mnist")]
    public async Task ABadOptionIsOneClearLineAndExitCodeTwo(string option, string value, string expected)
    {
        using var trainer = RunningProcess.Start(Builds.StudentTrainer,
            "train", option, value, "--run-directory", Path.Combine(workDirectory, "bad"));

        var code = await trainer.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(2, code);
        var lines = trainer.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var error = Assert.Single(lines, l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Contains(expected, error);
        Assert.DoesNotContain("   at ", trainer.Output); // no stack trace for a user's mistake
    }

    [Fact]
    public async Task AStudentThatCannotReachItsTeacherRetriesForItsBudgetThenSaysSoAndExitsNonZero()
    {
        using var trainer = RunningProcess.Start(Builds.StudentTrainer,
            "train", "--mode", "online", "--teacher-address", "http://127.0.0.1:9", "--train-examples", "256",
            "--epochs", "1", "--run-directory", Path.Combine(workDirectory, "unreachable"), "--teacher-timeout-seconds", "5",
            "--teacher-retry-seconds", "2");

        var code = await trainer.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(1, code);
        Assert.Matches(@"teacher unavailable \(Unavailable\), retrying in \d+\.\ds \(attempt 2\)", trainer.Output);
        Assert.Contains("error: the teacher service answered Unavailable", trainer.Output);
        Assert.DoesNotContain("   at ", trainer.Output);
    }

    public void Dispose() => Directory.Delete(workDirectory, recursive: true);
}
