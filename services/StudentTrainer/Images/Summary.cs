using System.Text.Json;
using TeacherStudent.StudentTrainer.Hosting;

namespace TeacherStudent.StudentTrainer.Images;

/// <summary>
/// Gathers finished runs into one report: the teacher's accuracy, and per student (name and
/// scenario) the mean accuracy over its seeds with each seed's; prints it as a table.
/// </summary>
public static class Summary
{
    public static int Write(string? teacherRun, string[] runDirectories, string output, double? seconds)
    {
        RunReport? teacher;
        List<RunReport> runs;
        try
        {
            teacher = teacherRun is null ? null : RunOutputs.ReadReport(teacherRun);
            runs = runDirectories.Select(RunOutputs.ReadReport).ToList();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return TrainerHost.ExitUsage;
        }

        var students = runs
            .GroupBy(r => (r.Scenario, r.Name))
            .Select(g => new StudentSummary(g.Key.Name, g.Key.Scenario, g.First().Mode,
                g.Average(r => r.Accuracy), g.Select(r => r.Accuracy).ToArray(), g.First().Epochs,
                g.Select(r => r.Seed).ToArray(), g.First().LabelledExamples, g.First().Width))
            .ToList();
        var report = new DemoReport(teacher is null ? null : new TeacherSummary(teacher.Accuracy, teacher.Epochs, teacher.Architecture, teacher.Width), students, seconds);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, JsonSerializer.Serialize(report, RunOutputs.Json));

        Console.WriteLine();
        if (teacher is not null) Console.WriteLine($"teacher {teacher.Architecture}{teacher.Width}: test accuracy {teacher.Accuracy:0.0000} ({teacher.Epochs} epochs)");
        Console.WriteLine($"{"scenario",-12} {"student",-22} {"mode",-11} {"labels",7} {"epochs",6} {"accuracy",9} {"spread",7}  seeds");
        foreach (var s in students)
        {
            var spread = s.Accuracies.Length > 1 ? $"{s.Accuracies.Max() - s.Accuracies.Min():0.0000}" : "-";
            Console.WriteLine($"{s.Scenario,-12} {s.Name,-22} {s.Mode,-11} {s.LabelledExamples?.ToString() ?? "all",7} {s.Epochs,6} {s.Accuracy,9:0.0000} {spread,7}  {string.Join(",", s.Seeds)}");
        }
        Console.WriteLine($"report: {output}");
        return 0;
    }

    private sealed record DemoReport(TeacherSummary? Teacher, IReadOnlyList<StudentSummary> Students, double? Seconds);

    private sealed record TeacherSummary(double Accuracy, int Epochs, string Architecture, int Width);

    private sealed record StudentSummary(string Name, string Scenario, string Mode, double Accuracy, double[] Accuracies, int Epochs,
        int[] Seeds, int? LabelledExamples, int Width);
}
