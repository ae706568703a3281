using System.Text.Json;
using TeacherStudent.Distillation.Training;
using TeacherStudent.StudentTrainer.Images;

namespace TeacherStudent.StudentTrainer.Tests.Images;

public sealed class SummaryTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("ts-summary-").FullName;

    private string Run(string name, string scenario, string mode, int seed, double accuracy)
    {
        var dir = Path.Combine(directory, $"{scenario}-{name}-{seed}");
        Directory.CreateDirectory(dir);
        var history = new[] { new EpochMetrics(1, 1.0, 0.5, accuracy, 1, []) };
        RunOutputs.WriteReport(dir, new RunReport(name, scenario, mode, "mlp", 64, 1, seed, null, 4, 0.9, "test", accuracy, 0.5, null, [], 1, history));
        return dir;
    }

    [Fact]
    public void StudentsAreGroupedByScenarioAndNameWithTheMeanOverTheirSeeds()
    {
        var runs = new[]
        {
            Run("offline", "all_labels", "offline", 1, 0.90),
            Run("offline", "all_labels", "offline", 2, 0.92),
            Run("offline", "few_labels", "offline", 1, 0.80),
        };
        var teacher = Run("teacher", "", "supervised", 1, 0.93);
        var output = Path.Combine(directory, "report.json");

        var code = Summary.Write(teacher, runs, output, 12);

        Assert.Equal(0, code);
        using var report = JsonDocument.Parse(File.ReadAllText(output));
        Assert.Equal(0.93, report.RootElement.GetProperty("teacher").GetProperty("accuracy").GetDouble(), 10);
        var students = report.RootElement.GetProperty("students").EnumerateArray().ToList();
        Assert.Equal(2, students.Count);
        var all = students.Single(s => s.GetProperty("scenario").GetString() == "all_labels");
        Assert.Equal(0.91, all.GetProperty("accuracy").GetDouble(), 10);
        Assert.Equal([0.90, 0.92], all.GetProperty("accuracies").EnumerateArray().Select(a => a.GetDouble()));
        Assert.Equal("offline", all.GetProperty("mode").GetString());
        Assert.Equal(12, report.RootElement.GetProperty("seconds").GetDouble());
    }

    [Fact]
    public void AMissingRunIsOneClearErrorAndExitCodeTwo()
    {
        var code = Summary.Write(null, [Path.Combine(directory, "never-ran")], Path.Combine(directory, "r.json"), null);

        Assert.Equal(2, code);
        Assert.False(File.Exists(Path.Combine(directory, "r.json")));
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
