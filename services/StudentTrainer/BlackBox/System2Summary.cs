using System.Text.Json;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.Images;
using TeacherStudent.StudentTrainer.Language;

namespace TeacherStudent.StudentTrainer.BlackBox;

/// <summary>
/// Gathers the System 2 -> System 1 demo into one report (<c>summarize-system2</c>): per task, the
/// teacher answering directly, the teacher reasoning step by step with a vote over samples, and
/// the distilled student answering directly, each from its <c>evaluate-answers</c> JSON
/// (<c>{task}.{role}.json</c> in one directory), held against the issue's goals; prints a table.
/// </summary>
public static class System2Summary
{
    public const string TeacherSystem1 = "teacher_system1", TeacherSystem2 = "teacher_system2", StudentSystem1 = "student_system1";

    /// <summary>Points the student must gain over the teacher's direct answers.</summary>
    public const double GainOverSystem1 = 0.15;

    /// <summary>Points the student may stay below the teacher's System 2.</summary>
    public const double GapToSystem2 = 0.05;

    /// <summary>How many times fewer tokens per answer than System 2 the student must write.</summary>
    public const double TokenReduction = 5;

    public static int Write(string evaluations, string[] tasks, string output, double? seconds)
    {
        var rows = new List<System2Task>();
        try
        {
            foreach (var task in tasks)
                rows.Add(new System2Task(task, Read(evaluations, task, TeacherSystem1), Read(evaluations, task, TeacherSystem2), Read(evaluations, task, StudentSystem1)));
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidDataException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return TrainerHost.ExitUsage;
        }
        var report = new System2Report(rows, new System2Goals(GainOverSystem1, GapToSystem2, TokenReduction), seconds);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, JsonSerializer.Serialize(report, RunOutputs.Json));

        Console.WriteLine();
        Console.WriteLine($"{"task",-12} {"answerer",-34} {"accuracy",9} {"tokens/answer",14}");
        foreach (var row in rows)
        {
            foreach (var (label, figures) in new[] { ("teacher, directly (System 1)", row.TeacherSystem1), ($"teacher, step by step x{row.TeacherSystem2.Samples} + vote", row.TeacherSystem2), ("student, directly", row.StudentSystem1) })
                Console.WriteLine($"{row.Task,-12} {label,-34} {figures.Accuracy,9:P1} {figures.TokensPerAnswer,14:0.0}");
            Console.WriteLine($"{row.Task,-12} goals: +{GainOverSystem1:P0} over System 1 {Mark(row.BeatsSystem1)}, within {GapToSystem2:P0} of System 2 {Mark(row.NearSystem2)}, " +
                              $"{TokenReduction}x fewer tokens {Mark(row.FewerTokens)}");
        }
        return 0;
    }

    private static string Mark(bool met) => met ? "met" : "NOT met";

    private static System2Figures Read(string directory, string task, string role)
    {
        var path = Path.Combine(directory, $"{task}.{role}.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist: run evaluate-answers --out {path} first.");
        var evaluation = JsonSerializer.Deserialize<AnswerEvaluationReport>(File.ReadAllText(path), LanguageRunOutputs.Json)
                         ?? throw new InvalidDataException($"{path} is empty.");
        return new System2Figures(evaluation.Accuracy, evaluation.TokensPerAnswer, evaluation.Questions, evaluation.SamplesPerQuestion,
            evaluation.Answered, evaluation.Teacher, evaluation.TeacherVersion);
    }
}

/// <summary>The demo's report: artifacts/system2/report.json.</summary>
public sealed record System2Report(IReadOnlyList<System2Task> Tasks, System2Goals Goals, double? Seconds);

/// <summary>One task's three answerers on the same held-out questions.</summary>
public sealed record System2Task(string Task, System2Figures TeacherSystem1, System2Figures TeacherSystem2, System2Figures StudentSystem1)
{
    public bool BeatsSystem1 => StudentSystem1.Accuracy >= TeacherSystem1.Accuracy + System2Summary.GainOverSystem1;
    public bool NearSystem2 => StudentSystem1.Accuracy >= TeacherSystem2.Accuracy - System2Summary.GapToSystem2;
    public bool FewerTokens => StudentSystem1.TokensPerAnswer * System2Summary.TokenReduction <= TeacherSystem2.TokensPerAnswer;
}

/// <summary>One answerer: accuracy on the held-out questions and tokens it wrote per answer (all samples together).</summary>
public sealed record System2Figures(double Accuracy, double TokensPerAnswer, int Questions, int Samples, double Answered, string Model, string Version);

/// <summary>The goals the issue holds the student to.</summary>
public sealed record System2Goals(double GainOverSystem1, double GapToSystem2, double TokenReduction);
