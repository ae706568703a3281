using System.Text.Json;
using TeacherStudent.StudentTrainer.Hosting;

namespace TeacherStudent.StudentTrainer.Images;

/// <summary>
/// A function-matching demo's report (<c>summarize-patient</c>): the teacher's test accuracy, the supervised
/// students' (the baseline), and for the offline students and the function-matching students (online, alpha 1,
/// consistent views, a longer schedule) their accuracies seed by seed and the share of the gap between the
/// baseline and the teacher their mean closes; printed as a table.
/// </summary>
public static class FunctionMatchingSummary
{
    public static int Write(string teacherRun, string[] baselineRuns, string[] offlineRuns, string[] runs, string output, double? seconds)
    {
        EnsembleSummary.Run teacher;
        List<EnsembleSummary.Run> baseline, offline, matching;
        try
        {
            teacher = EnsembleSummary.Read(teacherRun, "accuracy");
            baseline = baselineRuns.Select(dir => EnsembleSummary.Read(dir, "accuracy")).ToList();
            offline = offlineRuns.Select(dir => EnsembleSummary.Read(dir, "accuracy")).ToList();
            matching = runs.Select(dir => EnsembleSummary.Read(dir, "accuracy")).ToList();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return TrainerHost.ExitUsage;
        }
        if (baseline.Count == 0)
        {
            Console.Error.WriteLine("error: no baseline runs: the gap is measured from the supervised students' mean.");
            return TrainerHost.ExitUsage;
        }
        var baselineMean = baseline.Average(r => r.Value);
        var gap = teacher.Value - baselineMean;
        Students Of(List<EnsembleSummary.Run> group)
        {
            var ordered = group.OrderBy(r => r.Seed).ToArray();
            var mean = ordered.Length == 0 ? double.NaN : ordered.Average(r => r.Value);
            return new Students(mean, ordered.Select(r => r.Value).ToArray(), ordered.Select(r => r.Seed).ToArray(), gap > 0 ? (mean - baselineMean) / gap : double.NaN);
        }
        var report = new FunctionMatchingReport(teacher.Value, Of(baseline), Of(offline), Of(matching), seconds);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, JsonSerializer.Serialize(report, RunOutputs.Json));

        Console.WriteLine();
        Console.WriteLine($"teacher: test accuracy {teacher.Value:0.0000}; the gap to the supervised students' mean: {gap:0.0000}");
        Console.WriteLine($"{"students",-18} {"test accuracy, mean (each seed's)",-40} {"share of the gap closed",24}");
        foreach (var (name, s) in new[] { ("supervised", report.Supervised), ("offline", report.Offline), ("function matching", report.FunctionMatching) })
            Console.WriteLine($"{name,-18} {$"{s.Mean:0.0000} ({string.Join(", ", s.Accuracies.Select(a => a.ToString("0.0000")))})",-40} {s.ShareOfGap,24:P1}");
        Console.WriteLine($"report: {output}");
        return 0;
    }

    /// <summary>Students of one kind: their mean test accuracy, each seed's, and the share of the teacher's gap the mean closes.</summary>
    private sealed record Students(double Mean, double[] Accuracies, int[] Seeds, double ShareOfGap);

    private sealed record FunctionMatchingReport(double Teacher, Students Supervised, Students Offline, Students FunctionMatching, double? Seconds);
}
