using System.Text.Json;
using TeacherStudent.Distillation.Language;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.Images;
using TeacherStudent.StudentTrainer.Language;

namespace TeacherStudent.StudentTrainer.Tests.Language;

public sealed class LanguageSummaryTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("ts-lm-summary-").FullName;

    private string Run(string name, string mode, string loss, double perplexity)
    {
        var dir = Path.Combine(directory, name);
        Directory.CreateDirectory(dir);
        LanguageRunOutputs.WriteReport(dir, new LanguageRunReport(name, mode, loss, null, 0.5, 1, mode == "supervised" ? null : "top32",
            300, 16, 300 * 16 * 128, 0, 0, 1000, new LanguageModelShape("LlamaForCausalLM", 2, 128, 4, 4, 128, 2048, 2048), "digest", perplexity, Math.Log(perplexity), 5000,
            [], [new TextSample("A", "A fortune")], null, [], 0, 10, 9, 30, 7000, 1, null));
        return dir;
    }

    [Fact]
    public void TheReportHasTheTeacherEveryStudentByItsLossAndTheTargetFigures()
    {
        // Arrange
        var teacher = Run("teacher", "supervised", "forward_kl", 20.5);
        var runs = new[] { Run("ce", "supervised", "forward_kl", 40), Run("fkl", "online", "forward_kl", 35), Run("rkl", "online", "reverse_kl", 36), Run("op", "on_policy", "reverse_kl", 34) };
        var targets = Path.Combine(directory, "targets.json");
        File.WriteAllText(targets, JsonSerializer.Serialize(new TargetFigures("lm", "v", 1000, 16,
            [new ShapeFigures("dense", 4096, 4200, 0.0001), new ShapeFigures("top8", 34, 40, 0.3)], 9000, 10000, 0.9), RunOutputs.Json));
        var output = Path.Combine(directory, "report.json");

        // Act
        var code = LanguageSummary.Write(teacher, runs, targets, output, 600);

        // Assert: the shape the issue asks for.
        Assert.Equal(0, code);
        using var report = JsonDocument.Parse(File.ReadAllText(output));
        var root = report.RootElement;
        Assert.Equal(20.5, root.GetProperty("teacher").GetProperty("perplexity").GetDouble());
        var students = root.GetProperty("students").EnumerateArray().ToList();
        Assert.Equal(["ce", "forward_kl", "reverse_kl", "on_policy"], students.Select(s => s.GetProperty("loss").GetString()));
        Assert.Equal([40.0, 35, 36, 34], students.Select(s => s.GetProperty("perplexity").GetDouble()));
        Assert.Equal(["ce", "fkl", "rkl", "op"], students.Select(s => s.GetProperty("name").GetString()));
        var bytes = root.GetProperty("bytes_per_token").EnumerateArray().ToList();
        Assert.Equal(["dense", "top8"], bytes.Select(b => b.GetProperty("targets").GetString()));
        Assert.Equal(34, bytes[1].GetProperty("bytes").GetDouble());
        Assert.Equal(0.3, bytes[1].GetProperty("kl").GetDouble());
        Assert.Equal(0.9, root.GetProperty("serving").GetProperty("ratio").GetDouble());
    }

    [Fact]
    public void StudentsCompareInBitsPerByteAndABlackBoxStudentIsMeasuredOnTheCorpus()
    {
        // Arrange: a uld student with its aligned share; a black-box student whose own test split is its teacher's text.
        var teacher = Rewrite(Run("teacher", "supervised", "forward_kl", 20.5), r => r with { TestBitsPerByte = 1.9 });
        var uld = Rewrite(Run("uld", "online", "uld", 30), r => r with { TestBitsPerByte = 2.1, AlignedShare = 0.62 });
        var blackBox = Rewrite(Run("bb", "blackbox", "forward_kl", 12), r => r with
        {
            TestBitsPerByte = 1.2,
            CorpusTest = new CorpusTestReport(50, Math.Log(50), 4000, 2.4),
        });
        var output = Path.Combine(directory, "report.json");

        // Act
        var code = LanguageSummary.Write(teacher, [uld, blackBox], null, output, null);

        // Assert
        Assert.Equal(0, code);
        using var report = JsonDocument.Parse(File.ReadAllText(output));
        var root = report.RootElement;
        Assert.Equal(1.9, root.GetProperty("teacher").GetProperty("bits_per_byte").GetDouble());
        var students = root.GetProperty("students").EnumerateArray().ToList();
        Assert.Equal(["uld", "blackbox"], students.Select(s => s.GetProperty("loss").GetString()));
        Assert.Equal([2.1, 2.4], students.Select(s => s.GetProperty("bits_per_byte").GetDouble()));
        Assert.Equal([30.0, 50], students.Select(s => s.GetProperty("perplexity").GetDouble()));
        Assert.Equal(0.62, students[0].GetProperty("aligned_share").GetDouble());
    }

    private static string Rewrite(string run, Func<LanguageRunReport, LanguageRunReport> change)
    {
        LanguageRunOutputs.WriteReport(run, change(LanguageRunOutputs.ReadReport(run)));
        return run;
    }

    [Fact]
    public void AMissingRunIsOneErrorAndExitCodeTwo()
    {
        var code = LanguageSummary.Write(Path.Combine(directory, "nowhere"), [], null, Path.Combine(directory, "report.json"), null);

        Assert.Equal(TrainerHost.ExitUsage, code);
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
