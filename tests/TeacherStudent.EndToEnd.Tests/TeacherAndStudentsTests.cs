using System.Text.Json;
using TeacherStudent.Distillation.Models;

namespace TeacherStudent.EndToEnd.Tests;

/// <summary>
/// A teacher service and students as separate processes: the teacher is trained by the student
/// trainer itself (supervised), served, and taught from, offline and online at the same time.
/// </summary>
public sealed class TeacherAndStudentsTests : IDisposable
{
    private readonly string workDirectory = Directory.CreateTempSubdirectory("ts-e2e-").FullName;

    [Fact]
    public async Task OfflineAndOnlineStudentsLearnFromATeacherProcessAndOfflineNeedsNoTeacherAfterItsFetch()
    {
        // Arrange: a small ConvNet teacher, trained and served by the real programs.
        var teacherRun = Path.Combine(workDirectory, "teacher");
        using (var training = RunningProcess.Start(Builds.StudentTrainer,
                   "train", "--mode", "supervised", "--architecture", "convnet", "--width", "8", "--epochs", "1",
                   "--train-examples", "6000", "--eval-examples", "1000", "--run-directory", teacherRun))
        {
            Assert.Equal(0, await training.WaitForExitAsync(TimeSpan.FromMinutes(3)));
        }
        var checkpoint = Path.Combine(teacherRun, "model.ckpt");
        var version = Checkpoint.Digest(checkpoint);
        var targets = Path.Combine(workDirectory, "targets");

        using var teacher = RunningProcess.Start(Builds.Teacher,
            "--urls", "http://127.0.0.1:0", "--Teacher:Name=fashion", $"--Teacher:Checkpoint={checkpoint}");
        var address = await teacher.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1));

        string[] Student(string mode, string run) =>
        [
            "train", "--mode", mode, "--architecture", "mlp", "--width", "64", "--epochs", "2", "--labels", "300",
            "--train-examples", "4000", "--eval-examples", "1000", "--teacher-address", address,
            "--targets-directory", targets, "--run-directory", Path.Combine(workDirectory, run),
        ];

        // Act: an offline and an online student at the same time.
        using (var offline = RunningProcess.Start(Builds.StudentTrainer, Student("offline", "offline")))
        using (var online = RunningProcess.Start(Builds.StudentTrainer, Student("online", "online")))
        {
            Assert.True(await offline.WaitForExitAsync(TimeSpan.FromMinutes(4)) == 0, offline.Output);
            Assert.True(await online.WaitForExitAsync(TimeSpan.FromMinutes(4)) == 0, online.Output);
        }

        // Assert: both learnt from this teacher version, far above chance (0.1).
        foreach (var run in new[] { "offline", "online" })
        {
            using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(workDirectory, run, "report.json")));
            Assert.Equal([version], report.RootElement.GetProperty("teacher_versions").EnumerateArray().Select(v => v.GetString()));
            Assert.Equal(2, report.RootElement.GetProperty("history").GetArrayLength());
            Assert.True(report.RootElement.GetProperty("accuracy").GetDouble() > 0.6, $"{run} accuracy too low");
        }

        // And with the teacher stopped, another offline student trains from the targets fetched before.
        teacher.Kill();
        using var afterwards = RunningProcess.Start(Builds.StudentTrainer, Student("offline", "offline-again"));
        Assert.True(await afterwards.WaitForExitAsync(TimeSpan.FromMinutes(3)) == 0, afterwards.Output);
        using var again = JsonDocument.Parse(File.ReadAllText(Path.Combine(workDirectory, "offline-again", "report.json")));
        Assert.Equal([version], again.RootElement.GetProperty("teacher_versions").EnumerateArray().Select(v => v.GetString()));
    }

    public void Dispose() => Directory.Delete(workDirectory, recursive: true);
}
