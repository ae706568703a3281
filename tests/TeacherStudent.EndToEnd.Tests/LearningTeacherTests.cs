using System.Text.Json;
using TeacherStudent.Testing;

namespace TeacherStudent.EndToEnd.Tests;

/// <summary>
/// Online distillation from a teacher that keeps learning: a supervised teacher run publishes its
/// checkpoint after every epoch to the folder a teacher service watches; an online student
/// trains against the service meanwhile and reports every version it learned from.
/// </summary>
public sealed class LearningTeacherTests : IDisposable
{
    private readonly string workDirectory = Directory.CreateTempSubdirectory("ts-e2e-").FullName;

    [Fact]
    public async Task AnOnlineStudentLearnsFromEveryVersionAPublishingTeacherRunServesAndReportsThem()
    {
        // Arrange: the teacher run publishes to the watched folder; the service starts from its first epoch.
        var watched = Path.Combine(workDirectory, "watched");
        var published = Path.Combine(watched, "fashion.ckpt");
        using var teacherRun = RunningProcess.Start(Builds.StudentTrainer,
            "train", "--mode", "supervised", "--architecture", "mlp", "--width", "64", "--epochs", "100",
            "--train-examples", "20000", "--eval-examples", "500", "--threads", "1",
            "--run-directory", Path.Combine(workDirectory, "teacher"), "--publish-directory", watched, "--publish-name", "fashion");
        await teacherRun.WaitForAsync(@"epoch 1: train loss", TimeSpan.FromMinutes(2));
        using var service = RunningProcess.Start(Builds.Teacher,
            "--urls", "http://127.0.0.1:0", "--Teacher:Name=fashion", $"--Teacher:Checkpoint={published}",
            $"--Registry:WatchDirectory={watched}", "--Registry:WatchDebounceMilliseconds=100");
        var address = await service.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1));

        // Act: an online student while the teacher keeps publishing (it has far more epochs to go than the student).
        var run = Path.Combine(workDirectory, "online");
        using (var student = RunningProcess.Start(Builds.StudentTrainer,
                   "train", "--mode", "online", "--architecture", "mlp", "--width", "32", "--epochs", "3",
                   "--train-examples", "20000", "--eval-examples", "500", "--threads", "1",
                   "--teacher-address", address, "--run-directory", run))
        {
            Assert.True(await student.WaitForExitAsync(TimeSpan.FromMinutes(4)) == 0, student.Output);
        }
        Assert.False(teacherRun.HasExited, $"the teacher run ended before the student did; the test proves less than it says:\n{teacherRun.Output}");
        teacherRun.Kill();

        // Assert: more than one version taught the student, each one a version the service loaded.
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "report.json")));
        var versions = report.RootElement.GetProperty("teacher_versions").EnumerateArray().Select(v => v.GetString()!).ToList();
        Assert.True(versions.Count >= 2, $"the student learned from {versions.Count} version(s) only:\n{service.Output}");
        foreach (var version in versions)
        {
            // The service logs through a background queue, so a line may trail the replies it describes.
            await service.WaitForAsync($@"(?:Loaded teacher fashion version|swapped from version \w+ to) {version}\b", TimeSpan.FromSeconds(20));
        }
        var perEpoch = report.RootElement.GetProperty("history").EnumerateArray()
            .SelectMany(e => e.GetProperty("teacher_versions").EnumerateArray().Select(v => v.GetString()!)).Distinct();
        Assert.Equal(versions, perEpoch);
    }

    public void Dispose() => Directory.Delete(workDirectory, recursive: true);
}
