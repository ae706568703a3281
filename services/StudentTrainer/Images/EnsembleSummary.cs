using System.Text.Json;
using TeacherStudent.StudentTrainer.Hosting;

namespace TeacherStudent.StudentTrainer.Images;

/// <summary>
/// The ensemble demo's report: every teacher's accuracy, and per scenario the students taught by the
/// ensemble beside those taught by the best single teacher, seed by seed (the same seed, the same
/// budget), with the difference of their means and how many seeds the ensemble's student won; printed
/// as a table.
/// </summary>
public static class EnsembleSummary
{
    /// <param name="teacherRuns">The run directories of the ensemble's teachers.</param>
    /// <param name="ensemble">The name students asked the ensemble by (their reports' teacher).</param>
    /// <param name="bestSingle">The name of the best single teacher (its students' reports' teacher).</param>
    /// <param name="runDirectories">The students' run directories, of both kinds, in any scenarios.</param>
    public static int Write(string[] teacherRuns, string ensemble, string bestSingle, string[] runDirectories, string output, double? seconds)
    {
        List<RunReport> teachers, runs;
        try
        {
            teachers = teacherRuns.Select(RunOutputs.ReadReport).ToList();
            runs = runDirectories.Select(RunOutputs.ReadReport).ToList();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return TrainerHost.ExitUsage;
        }
        var strangers = runs.Where(r => r.Teacher != ensemble && r.Teacher != bestSingle).Select(r => $"{r.Name} (seed {r.Seed}, teacher {r.Teacher ?? "none"})").ToArray();
        if (strangers.Length > 0)
        {
            Console.Error.WriteLine($"error: these runs were taught by neither '{ensemble}' nor '{bestSingle}': {string.Join(", ", strangers)}.");
            return TrainerHost.ExitUsage;
        }

        var scenarios = runs.GroupBy(r => r.Scenario).Select(g =>
        {
            var byEnsemble = Students(g.Where(r => r.Teacher == ensemble));
            var bySingle = Students(g.Where(r => r.Teacher == bestSingle));
            var paired = byEnsemble.Seeds.Intersect(bySingle.Seeds).ToArray();
            int wins = paired.Count(seed => byEnsemble.Of(seed) > bySingle.Of(seed));
            return new ScenarioSummary(g.Key, g.First().LabelledExamples, byEnsemble, bySingle,
                byEnsemble.Accuracy - bySingle.Accuracy, wins, paired.Length);
        }).ToList();
        var report = new EnsembleReport(
            teachers.Select(t => new TeacherSummary(t.Name, t.Architecture, t.Width, t.Seed, t.Accuracy)).ToArray(),
            ensemble, bestSingle, scenarios, seconds);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, JsonSerializer.Serialize(report, RunOutputs.Json));

        Console.WriteLine();
        foreach (var t in report.Teachers)
            Console.WriteLine($"teacher {t.Name,-16} {t.Architecture}{t.Width} seed {t.Seed}: test accuracy {t.Accuracy:0.0000}{(t.Name == bestSingle ? "  (best single)" : "")}");
        Console.WriteLine($"{"scenario",-12} {"labels",7} {"ensemble's student",-30} {"best single's student",-30} {"difference",10}  ensemble wins");
        foreach (var s in scenarios)
            Console.WriteLine($"{s.Scenario,-12} {s.LabelledExamples?.ToString() ?? "all",7} {Shown(s.Ensemble),-30} {Shown(s.BestSingle),-30} {s.Difference,10:+0.0000;-0.0000}  {s.Wins} of {s.Paired} seeds");
        Console.WriteLine($"report: {output}");
        return 0;
    }

    private static StudentsSummary Students(IEnumerable<RunReport> runs)
    {
        var ordered = runs.OrderBy(r => r.Seed).ToArray();
        return new StudentsSummary(ordered.Length == 0 ? double.NaN : ordered.Average(r => r.Accuracy), ordered.Select(r => r.Accuracy).ToArray(),
            ordered.Select(r => r.Seed).ToArray());
    }

    private static string Shown(StudentsSummary s) => $"{s.Accuracy:0.0000} ({string.Join(", ", s.Accuracies.Select(a => a.ToString("0.0000")))})";

    private sealed record EnsembleReport(IReadOnlyList<TeacherSummary> Teachers, string Ensemble, string BestSingleTeacher,
        IReadOnlyList<ScenarioSummary> Scenarios, double? Seconds);

    private sealed record TeacherSummary(string Name, string Architecture, int Width, int Seed, double Accuracy);

    private sealed record ScenarioSummary(string Scenario, int? LabelledExamples, StudentsSummary Ensemble, StudentsSummary BestSingle,
        double Difference, int Wins, int Paired);

    /// <summary>Students of one teacher in one scenario: the mean accuracy, and each seed's, in seed order.</summary>
    private sealed record StudentsSummary(double Accuracy, double[] Accuracies, int[] Seeds)
    {
        public double Of(int seed) => Accuracies[Array.IndexOf(Seeds, seed)];
    }
}
