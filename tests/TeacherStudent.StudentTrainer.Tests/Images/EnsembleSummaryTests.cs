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
        var code = EnsembleSummary.Write(teachers, ["served-a", "b"], "ensemble", "b", runs, output, 600);

        // Assert
        Assert.Equal(0, code);
        using var report = JsonDocument.Parse(File.ReadAllText(output));
        var root = report.RootElement;
        Assert.Equal("accuracy", root.GetProperty("metric").GetString());
        Assert.Equal(["served-a", "b"], root.GetProperty("teachers").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(0.93, root.GetProperty("teachers")[1].GetProperty("value").GetDouble(), 10);
        Assert.Equal("b", root.GetProperty("best_single_teacher").GetString());
        var few = root.GetProperty("scenarios").EnumerateArray().Single(s => s.GetProperty("scenario").GetString() == "few_labels");
        Assert.Equal(3000, few.GetProperty("labelled_examples").GetInt32());
        Assert.Equal([1, 2, 3], few.GetProperty("ensemble").GetProperty("seeds").EnumerateArray().Select(s => s.GetInt32()));
        Assert.Equal([0.903, 0.899, 0.905], few.GetProperty("ensemble").GetProperty("values").EnumerateArray().Select(a => a.GetDouble()));
        Assert.Equal([0.901, 0.902, 0.900], few.GetProperty("best_single").GetProperty("values").EnumerateArray().Select(a => a.GetDouble()));
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

        var code = EnsembleSummary.Write([], [], "ensemble", "b", runs, output, null);

        Assert.Equal(2, code);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void LanguageModelStudentsAreComparedByPerplexityWhereLowerIsBetter()
    {
        // Arrange: reports as train-lm writes them, with no scenario and a perplexity.
        string Lm(string name, int seed, double perplexity, string teacher)
        {
            var dir = Path.Combine(directory, $"lm-{name}-{seed}");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "report.json"),
                $$"""{ "name": "{{name}}", "seed": {{seed}}, "teacher": "{{teacher}}", "perplexity": {{perplexity}}, "mode": "online" }""");
            return dir;
        }
        string[] runs = [Lm("ensemble", 1, 20.5, "mixture-of-a+b"), Lm("ensemble", 2, 21.5, "mixture-of-a+b"), Lm("best-single", 1, 21.0, "a"), Lm("best-single", 2, 21.0, "a")];
        var output = Path.Combine(directory, "lm.json");

        // Act
        var code = EnsembleSummary.Write([runs[2]], ["a"], "mixture-of-a+b", "a", runs, output, null, metric: "perplexity");

        // Assert: the ensemble's student is better on seed 1 only (a lower perplexity), and equal on average.
        Assert.Equal(0, code);
        using var report = JsonDocument.Parse(File.ReadAllText(output));
        var only = Assert.Single(report.RootElement.GetProperty("scenarios").EnumerateArray());
        Assert.Equal(("perplexity", "", 0.0), (report.RootElement.GetProperty("metric").GetString(), only.GetProperty("scenario").GetString(),
            only.GetProperty("difference").GetDouble()));
        Assert.Equal((1, 2), (only.GetProperty("wins").GetInt32(), only.GetProperty("paired").GetInt32()));
    }

    [Fact]
    public void AnUnknownMetricOrTooFewTeacherNamesIsOneClearErrorAndExitCodeTwo()
    {
        string[] runs = [Run("ensemble", "all_labels", 1, 0.904, "ensemble")];

        Assert.Equal(2, EnsembleSummary.Write([], [], "ensemble", "b", runs, Path.Combine(directory, "x.json"), null, metric: "loss"));
        Assert.Equal(2, EnsembleSummary.Write([runs[0]], ["a", "b"], "ensemble", "b", runs, Path.Combine(directory, "x.json"), null));
        Assert.False(File.Exists(Path.Combine(directory, "x.json")));
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
