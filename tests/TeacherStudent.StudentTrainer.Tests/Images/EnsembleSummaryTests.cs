using System.Text.Json;
using TeacherStudent.Distillation.Training;
using TeacherStudent.StudentTrainer.Images;

namespace TeacherStudent.StudentTrainer.Tests.Images;

public sealed class EnsembleSummaryTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("ts-ensemble-summary-").FullName;

    private string Run(string name, string scenario, int seed, double accuracy, string? teacher, int? labels = null, string mode = "offline")
    {
        var dir = Path.Combine(directory, $"{scenario}-{name}-{seed}");
        Directory.CreateDirectory(dir);
        var history = new[] { new EpochMetrics(1, 1.0, 0.5, accuracy, 1, []) };
        RunOutputs.WriteReport(dir, new RunReport(name, scenario, mode, "mlp", 512, 12, seed, labels, 4, 0.9, "test", accuracy, 0.5, teacher, [], 1, history));
        return dir;
    }

    [Fact]
    public void EachScenarioSetsTheEnsemblesStudentsBesideTheBestSingleTeachersSeedBySeed()
    {
        // Arrange: seeds listed out of order; the ensemble wins seeds 1 and 3 of three with 3,000 labels.
        string[] teachers = [Run("a", "", 1, 0.92, null, mode: "supervised"), Run("b", "", 2, 0.93, null, mode: "supervised")];
        string[] runs =
        [
            Run("ensemble", "few_labels", 3, 0.905, "ensemble", 3000), Run("ensemble", "few_labels", 1, 0.903, "ensemble", 3000),
            Run("ensemble", "few_labels", 2, 0.899, "ensemble", 3000),
            Run("best-single", "few_labels", 1, 0.901, "b", 3000), Run("best-single", "few_labels", 2, 0.902, "b", 3000),
            Run("best-single", "few_labels", 3, 0.900, "b", 3000),
            Run("ensemble", "all_labels", 1, 0.904, "ensemble"), Run("best-single", "all_labels", 1, 0.906, "b"),
        ];
        var output = Path.Combine(directory, "report.json");

        // Act
        var code = EnsembleSummary.Write(teachers, "ensemble", "b", runs, output, 600);

        // Assert
        Assert.Equal(0, code);
        using var report = JsonDocument.Parse(File.ReadAllText(output));
        var root = report.RootElement;
        Assert.Equal(["a", "b"], root.GetProperty("teachers").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(0.93, root.GetProperty("teachers")[1].GetProperty("accuracy").GetDouble(), 10);
        Assert.Equal("b", root.GetProperty("best_single_teacher").GetString());
        var few = root.GetProperty("scenarios").EnumerateArray().Single(s => s.GetProperty("scenario").GetString() == "few_labels");
        Assert.Equal(3000, few.GetProperty("labelled_examples").GetInt32());
        Assert.Equal([1, 2, 3], few.GetProperty("ensemble").GetProperty("seeds").EnumerateArray().Select(s => s.GetInt32()));
        Assert.Equal([0.903, 0.899, 0.905], few.GetProperty("ensemble").GetProperty("accuracies").EnumerateArray().Select(a => a.GetDouble()));
        Assert.Equal([0.901, 0.902, 0.900], few.GetProperty("best_single").GetProperty("accuracies").EnumerateArray().Select(a => a.GetDouble()));
        Assert.Equal(0.001333333, few.GetProperty("difference").GetDouble(), 6);
        Assert.Equal((2, 3), (few.GetProperty("wins").GetInt32(), few.GetProperty("paired").GetInt32()));
        var all = root.GetProperty("scenarios").EnumerateArray().Single(s => s.GetProperty("scenario").GetString() == "all_labels");
        Assert.Equal(-0.002, all.GetProperty("difference").GetDouble(), 10);
        Assert.Equal(0, all.GetProperty("wins").GetInt32());
    }

    [Fact]
    public void ARunTaughtByAnotherTeacherIsOneClearErrorAndExitCodeTwo()
    {
        string[] runs = [Run("ensemble", "all_labels", 1, 0.904, "ensemble"), Run("stray", "all_labels", 1, 0.9, "c")];
        var output = Path.Combine(directory, "report.json");

        var code = EnsembleSummary.Write([], "ensemble", "b", runs, output, null);

        Assert.Equal(2, code);
        Assert.False(File.Exists(output));
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
