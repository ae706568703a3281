using System.Text.Json;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.Images;

namespace TeacherStudent.StudentTrainer.Language;

/// <summary>
/// Gathers a language-model demo into one report (<c>summarize-lm</c>): the teacher's
/// perplexity and bits per byte, every student's (with the loss it learned by: ce, forward_kl, reverse_kl,
/// on_policy, uld, projected_kl or blackbox; a black-box student measured on the corpus's test split, not its teacher's text),
/// and the figures of <c>measure-targets</c>; prints them as tables. Students with another tokenizer than the
/// teacher's compare by bits per byte: their token perplexities count different tokens.
/// </summary>
public static class LanguageSummary
{
    public static int Write(string teacherRun, string[] runDirectories, string? targets, string output, double? seconds)
    {
        LanguageRunReport teacher;
        List<LanguageRunReport> students;
        TargetFigures? figures;
        try
        {
            teacher = LanguageRunOutputs.ReadReport(teacherRun);
            students = runDirectories.Select(LanguageRunOutputs.ReadReport).ToList();
            figures = targets is null ? null : JsonSerializer.Deserialize<TargetFigures>(File.ReadAllText(targets), RunOutputs.Json);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return TrainerHost.ExitUsage;
        }

        var report = new LanguageDemoReport(
            new LanguageTeacherSummary(teacher.Perplexity, teacher.Parameters, teacher.Steps, teacher.Tokens, teacher.Model, teacher.Samples.FirstOrDefault()?.Text)
            {
                BitsPerByte = teacher.TestBitsPerByte,
                TokenizerDigest = teacher.TokenizerDigest,
            },
            students.Select(s => new LanguageStudentSummary(s.Name, LossOf(s), s.CorpusTest?.Perplexity ?? s.Perplexity, s.Mode, s.Targets, s.Steps, s.Tokens,
                s.Parameters, s.TokensPerSecond, s.Samples.FirstOrDefault()?.Text)
            {
                BitsPerByte = s.CorpusTest is { } corpus ? corpus.BitsPerByte : s.TestBitsPerByte,
                AlignedShare = s.AlignedShare,
                TokenizerDigest = s.TokenizerDigest,
                Seed = s.Seed,
            }).ToList(),
            figures?.BytesPerToken ?? [],
            figures is null ? null : new ServingSummary(figures.ServedTokensPerSecond, figures.InProcessTokensPerSecond, figures.ServedToInProcess, figures.BatchSequences),
            seconds);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, JsonSerializer.Serialize(report, RunOutputs.Json));

        Console.WriteLine();
        Console.WriteLine($"teacher {teacher.Model.Architecture} {teacher.Model.Layers}x{teacher.Model.Width} ({teacher.Parameters:N0} parameters): test perplexity {teacher.Perplexity:0.00}, "
                          + $"{Bits(teacher.TestBitsPerByte)} bits per byte");
        Console.WriteLine($"{"student",-22} {"loss",-12} {"targets",-10} {"steps",6} {"tokens",10} {"perplexity",10} {"bits/byte",10}");
        foreach (var s in report.Students)
            Console.WriteLine($"{s.Name,-22} {s.Loss,-12} {s.Targets ?? "-",-10} {s.Steps,6} {s.Tokens,10} {s.Perplexity,10:0.00} {Bits(s.BitsPerByte),10}");
        if (figures is not null)
        {
            Console.WriteLine($"{"targets",-10} {"bytes/token",12} {"wire",8} {"KL (nats)",10}");
            foreach (var f in figures.BytesPerToken) Console.WriteLine($"{f.Targets,-10} {f.Bytes,12:0.0} {f.WireBytes,8:0.0} {f.Kl,10:0.00000}");
            Console.WriteLine($"served {figures.ServedTokensPerSecond:0} tokens/s vs in process {figures.InProcessTokensPerSecond:0} ({figures.ServedToInProcess:0.00})");
        }
        return 0;
    }

    // What the issue's table calls each student: by the loss it learned from.
    private static string LossOf(LanguageRunReport run) => run.Mode switch
    {
        "supervised" => "ce",
        "on_policy" => "on_policy",
        LanguageTrainJob.BlackBoxMode => LanguageTrainJob.BlackBoxMode,
        _ => run.Loss,
    };

    private static string Bits(double? bitsPerByte) => bitsPerByte is { } b ? b.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture) : "-";
}

/// <summary>The language-model demo's report: artifacts/lm/report.json.</summary>
public sealed record LanguageDemoReport(
    LanguageTeacherSummary Teacher, IReadOnlyList<LanguageStudentSummary> Students, IReadOnlyList<ShapeFigures> BytesPerToken,
    ServingSummary? Serving, double? Seconds);

/// <summary>The teacher in the report.</summary>
public sealed record LanguageTeacherSummary(double Perplexity, long Parameters, int Steps, long Tokens, LanguageModelShape Model, string? Sample)
{
    /// <summary>The test split in bits per byte (null in a report written before they were counted).</summary>
    public double? BitsPerByte { get; init; }

    public string? TokenizerDigest { get; init; }
}

/// <summary>One student in the report: a black-box student's perplexity and bits per byte are on the corpus's test split (<c>--corpus-test</c>).</summary>
public sealed record LanguageStudentSummary(
    string Name, string Loss, double Perplexity, string Mode, string? Targets, int Steps, long Tokens, long Parameters, double TokensPerSecond, string? Sample)
{
    /// <summary>The test split in bits per byte: what compares students of different tokenizers.</summary>
    public double? BitsPerByte { get; init; }

    /// <summary>A cross-tokenizer student's (uld, projected_kl) share of positions aligned with its teacher's by bytes.</summary>
    public double? AlignedShare { get; init; }

    public string? TokenizerDigest { get; init; }

    public int Seed { get; init; }
}

/// <summary>The teacher service's tokens per second beside the same forward in process.</summary>
public sealed record ServingSummary(double ServedTokensPerSecond, double InProcessTokensPerSecond, double Ratio, int BatchSequences);
