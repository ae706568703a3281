using System.Text.Json;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Testing;

namespace TeacherStudent.EndToEnd.Tests;

/// <summary>A teacher process that goes away in the middle of an online run and comes back on the same port.</summary>
public sealed class TeacherRestartTests : IDisposable
{
    private readonly string workDirectory = Directory.CreateTempSubdirectory("ts-e2e-").FullName;

    [Fact]
    public async Task AnOnlineStudentRetriesWhileItsTeacherRestartsAndFinishesAllItsEpochs()
    {
        // Arrange: a small teacher, served on a fixed port so that it can come back on it.
        var teacherRun = Path.Combine(workDirectory, "teacher");
        using (var training = RunningProcess.Start(Builds.StudentTrainer,
                   "train", "--mode", "supervised", "--architecture", "mlp", "--width", "64", "--epochs", "1",
                   "--train-examples", "3000", "--eval-examples", "500", "--run-directory", teacherRun))
        {
            Assert.True(await training.WaitForExitAsync(TimeSpan.FromMinutes(3)) == 0, training.Output);
        }
        var checkpoint = Path.Combine(teacherRun, "model.ckpt");
        var address = $"http://127.0.0.1:{FreePort.Next()}";
        string[] serve = ["--urls", address, "--Teacher:Name=fashion", $"--Teacher:Checkpoint={checkpoint}"];
        using var teacher = RunningProcess.Start(Builds.Teacher, serve);
        await teacher.WaitForAsync("Now listening on", TimeSpan.FromMinutes(1));

        var run = Path.Combine(workDirectory, "online");
        using var student = RunningProcess.Start(Builds.StudentTrainer,
            "train", "--mode", "online", "--architecture", "mlp", "--width", "32", "--epochs", "3",
            "--train-examples", "20000", "--eval-examples", "500", "--teacher-address", address,
            "--teacher-retry-seconds", "120", "--run-directory", run);

        // Act: the teacher is killed once the student has an epoch behind it, and restarted 3 s later.
        await student.WaitForAsync(@"epoch 1: train loss", TimeSpan.FromMinutes(3));
        teacher.Kill();
        Assert.False(student.HasExited, "the student finished before its teacher went away; the test proves nothing.");
        await Task.Delay(TimeSpan.FromSeconds(3));
        using var restarted = RunningProcess.Start(Builds.Teacher, serve);

        // Assert: the student waited with backoff, then trained every epoch from the same teacher version.
        Assert.True(await student.WaitForExitAsync(TimeSpan.FromMinutes(4)) == 0, student.Output);
        Assert.Matches(@"teacher unavailable \(\w+\), retrying in \d+\.\ds \(attempt \d+\)", student.Output);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "report.json")));
        Assert.Equal([1, 2, 3], report.RootElement.GetProperty("history").EnumerateArray().Select(e => e.GetProperty("epoch").GetInt32()));
        Assert.Equal([Checkpoint.Digest(checkpoint)], report.RootElement.GetProperty("teacher_versions").EnumerateArray().Select(v => v.GetString()));
    }

    public void Dispose() => Directory.Delete(workDirectory, recursive: true);
}
