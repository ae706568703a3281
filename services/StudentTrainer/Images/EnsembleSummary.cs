using System.Text.Json;
using TeacherStudent.StudentTrainer.Hosting;

namespace TeacherStudent.StudentTrainer.Images;

/// <summary>
/// An ensemble demo's report: every teacher's figure, and per scenario the students taught by the ensemble
/// beside those taught by the best single teacher, seed by seed (the same seed, the same budget), with the
/// difference of their means and how many seeds the ensemble's student won; printed as a table. Runs of
/// image students are compared by test accuracy (higher is better), of language-model students by test
/// perplexity (lower is better): the figure is read from each run's report.json by name.
/// </summary>
public static class EnsembleSummary
{
    /// <summary>What a run can be compared by: its report's property, and whether more is better.</summary>
    public static IReadOnlyDictionary<string, bool> Metrics { get; } = new Dictionary<string, bool> { ["accuracy"] = true, ["perplexity"] = false };

    /// <param name="teacherRuns">The run directories of the ensemble's teachers.</param>
    /// <param name="teacherNames">The names they are served by, in the same order (empty: their reports' names).</param>
    /// <param name="ensemble">The name students asked the ensemble by (their reports' teacher).</param>
    /// <param name="bestSingle">The name of the best single teacher (its students' reports' teacher).</param>
    /// <param name="runDirectories">The students' run directories, of both kinds, in any scenarios.</param>
    /// <param name="metric">A key of <see cref="Metrics"/>.</param>
    public static int Write(string[] teacherRuns, string[] teacherNames, string ensemble, string bestSingle, string[] runDirectories, string output,
        double? seconds, string metric = "accuracy")
    {
        if (!Metrics.TryGetValue(metric, out var higherIsBetter))
            return Usage($"--metric {metric} is not one of {string.Join(", ", Metrics.Keys)}.");
        if (teacherNames.Length > 0 && teacherNames.Length != teacherRuns.Length)
            return Usage($"{teacherNames.Length} teacher names for {teacherRuns.Length} teacher runs; give one per run, in the same order.");
        List<Run> teachers, runs;
        try
        {
            teachers = teacherRuns.Select(dir => Read(dir, metric)).ToList();
            runs = runDirectories.Select(dir => Read(dir, metric)).ToList();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return Usage(e.Message);
        }
        var strangers = runs.Where(r => r.Teacher != ensemble && r.Teacher != bestSingle).Select(r => $"{r.Name} (seed {r.Seed}, teacher {r.Teacher ?? "none"})").ToArray();
        if (strangers.Length > 0)
            return Usage($"these runs were taught by neither '{ensemble}' nor '{bestSingle}': {string.Join(", ", strangers)}.");

        var scenarios = runs.GroupBy(r => r.Scenario).Select(g =>
        {
            var byEnsemble = Students(g.Where(r => r.Teacher == ensemble));
            var bySingle = Students(g.Where(r => r.Teacher == bestSingle));
            var paired = byEnsemble.Seeds.Intersect(bySingle.Seeds).ToArray();
            int wins = paired.Count(seed => higherIsBetter ? byEnsemble.Of(seed) > bySingle.Of(seed) : byEnsemble.Of(seed) < bySingle.Of(seed));
            return new ScenarioSummary(g.Key, g.First().LabelledExamples, byEnsemble, bySingle, byEnsemble.Mean - bySingle.Mean, wins, paired.Length);
        }).ToList();
        var report = new EnsembleReport(metric,
            teachers.Select((t, i) => new TeacherSummary(teacherNames.Length > 0 ? teacherNames[i] : t.Name, t.Seed, t.Value)).ToArray(),
            ensemble, bestSingle, scenarios, seconds);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, JsonSerializer.Serialize(report, RunOutputs.Json));

        Console.WriteLine();
        foreach (var t in report.Teachers)
            Console.WriteLine($"teacher {t.Name,-16} seed {t.Seed}: test {metric} {t.Value:0.0000}{(t.Name == bestSingle ? "  (best single)" : "")}");
        Console.WriteLine($"test {metric} ({(higherIsBetter ? "higher" : "lower")} is better), mean (each seed's)");
        Console.WriteLine($"{"scenario",-12} {"labels",7} {"ensemble's student",-34} {"best single's student",-34} {"difference",10}  ensemble better");
        foreach (var s in scenarios)
            Console.WriteLine($"{(s.Scenario.Length > 0 ? s.Scenario : "-"),-12} {s.LabelledExamples?.ToString() ?? "all",7} {Shown(s.Ensemble),-34} {Shown(s.BestSingle),-34} " +
                              $"{s.Difference,10:+0.0000;-0.0000}  {s.Wins} of {s.Paired} seeds");
        Console.WriteLine($"report: {output}");
        return 0;
    }

    private static int Usage(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return TrainerHost.ExitUsage;
    }

    // What a summary reads of a run's report.json, whichever kind of run wrote it.
    internal static Run Read(string directory, string metric)
    {
        var path = Path.Combine(directory, "report.json");
        if (!File.Exists(path)) throw new IOException($"{directory} has no report.json: did the run finish?");
        using var report = JsonDocument.Parse(File.ReadAllText(path));
        var root = report.RootElement;
        if (!root.TryGetProperty(metric, out var value) || value.ValueKind != JsonValueKind.Number)
            throw new InvalidDataException($"{path} has no {metric}: is it a report of the right kind of run?");
        return new Run(
            root.GetProperty("name").GetString() ?? "",
            root.TryGetProperty("scenario", out var scenario) ? scenario.GetString() ?? "" : "",
            root.GetProperty("seed").GetInt32(),
            root.TryGetProperty("teacher", out var teacher) && teacher.ValueKind == JsonValueKind.String ? teacher.GetString() : null,
            root.TryGetProperty("labelled_examples", out var labels) && labels.ValueKind == JsonValueKind.Number ? labels.GetInt32() : null,
            value.GetDouble());
    }

    private static StudentsSummary Students(IEnumerable<Run> runs)
    {
        var ordered = runs.OrderBy(r => r.Seed).ToArray();
        return new StudentsSummary(ordered.Length == 0 ? double.NaN : ordered.Average(r => r.Value), ordered.Select(r => r.Value).ToArray(),
            ordered.Select(r => r.Seed).ToArray());
    }

    private static string Shown(StudentsSummary s) => $"{s.Mean:0.0000} ({string.Join(", ", s.Values.Select(a => a.ToString("0.0000")))})";

    internal sealed record Run(string Name, string Scenario, int Seed, string? Teacher, int? LabelledExamples, double Value);

    private sealed record EnsembleReport(string Metric, IReadOnlyList<TeacherSummary> Teachers, string Ensemble, string BestSingleTeacher,
        IReadOnlyList<ScenarioSummary> Scenarios, double? Seconds);

    private sealed record TeacherSummary(string Name, int Seed, double Value);

    private sealed record ScenarioSummary(string Scenario, int? LabelledExamples, StudentsSummary Ensemble, StudentsSummary BestSingle,
        double Difference, int Wins, int Paired);

    /// <summary>Students of one teacher in one scenario: the mean of the metric, and each seed's, in seed order.</summary>
    private sealed record StudentsSummary(double Mean, double[] Values, int[] Seeds)
    {
        public double Of(int seed) => Values[Array.IndexOf(Seeds, seed)];
    }
}
