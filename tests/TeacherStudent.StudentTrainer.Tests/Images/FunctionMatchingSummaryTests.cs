using System.Text.Json;
using TeacherStudent.Distillation.Training;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.Images;

namespace TeacherStudent.StudentTrainer.Tests.Images;

public sealed class FunctionMatchingSummaryTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("ts-fm-summary-").FullName;

    private string Run(string name, int seed, double accuracy, string mode)
    {
        var dir = Path.Combine(directory, $"{name}-{seed}");
        Directory.CreateDirectory(dir);
        var history = new[] { new EpochMetrics(1, 1.0, 0.5, accuracy, 1, []) };
        RunOutputs.WriteReport(dir, new RunReport(name, "all_labels", mode, "mlp", 512, 12, seed, null, 4, 0.5, "test", accuracy, 0.5, "fashion", [], 1, history));
        return dir;
    }

    [Fact]
    public void EachKindOfStudentGetsItsMeanItsSeedsAndTheShareOfTheTeachersGapItCloses()
    {
        // Arrange: the teacher at 0.93, supervised students at 0.90 on average: a gap of 0.03.
        var teacher = Run("teacher", 1, 0.93, "supervised");
        string[] supervised = [Run("supervised", 2, 0.899, "supervised"), Run("supervised", 1, 0.901, "supervised")];
        string[] offline = [Run("offline", 1, 0.903, "offline"), Run("offline", 2, 0.903, "offline")];
        string[] matching = [Run("fm", 1, 0.912, "online"), Run("fm", 2, 0.906, "online")];
        var output = Path.Combine(directory, "report.json");

        // Act
        var code = FunctionMatchingSummary.Write(teacher, supervised, offline, matching, output, 60);

        // Assert: offline closes 0.003 / 0.03 = 10%, function matching 0.009 / 0.03 = 30%.
        Assert.Equal(0, code);
        using var report = JsonDocument.Parse(File.ReadAllText(output));
        var root = report.RootElement;
        Assert.Equal(0.93, root.GetProperty("teacher").GetDouble());
        Assert.Equal([0.901, 0.899], root.GetProperty("supervised").GetProperty("accuracies").EnumerateArray().Select(a => a.GetDouble()));
        Assert.Equal([1, 2], root.GetProperty("supervised").GetProperty("seeds").EnumerateArray().Select(a => a.GetInt32()));
        Assert.Equal(0, root.GetProperty("supervised").GetProperty("share_of_gap").GetDouble(), 1e-9);
        Assert.Equal(0.10, root.GetProperty("offline").GetProperty("share_of_gap").GetDouble(), 1e-9);
        Assert.Equal(0.909, root.GetProperty("function_matching").GetProperty("mean").GetDouble(), 1e-9);
        Assert.Equal(0.30, root.GetProperty("function_matching").GetProperty("share_of_gap").GetDouble(), 1e-9);
    }

    [Fact]
    public void AMissingRunIsOneErrorAndExitCodeTwo()
    {
        var code = FunctionMatchingSummary.Write(Path.Combine(directory, "nowhere"), [], [], [], Path.Combine(directory, "report.json"), null);

        Assert.Equal(TrainerHost.ExitUsage, code);
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
