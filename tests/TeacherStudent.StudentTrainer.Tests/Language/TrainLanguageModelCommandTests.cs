using System.Text.Json;
using TeacherStudent.Distillation.Models;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.Language;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.StudentTrainer.Tests.Language;

/// <summary>
/// The <c>train-lm</c> command as a user runs it: its own process, real fortunes text, a tiny model
/// and a handful of steps; a teacher trained by the command itself, then a student taught by it.
/// </summary>
public sealed class TrainLanguageModelCommandTests : IDisposable
{
    private static readonly string[] Tiny =
    [
        "--layers", "1", "--width", "16", "--heads", "2", "--context-length", "16", "--batch-size", "8",
        "--eval-windows", "8", "--test-windows", "16", "--sample-tokens", "8", "--device", "cpu",
    ];

    private readonly TemporaryDirectory directory = new("train-lm-tests");

    private static async Task<(int ExitCode, string Output)> TrainLmAsync(params string[] arguments)
    {
        using var process = RunningProcess.Start(Builds.StudentTrainer, ["train-lm", .. Tiny, .. arguments]);
        var exit = await process.WaitForExitAsync(TimeSpan.FromMinutes(2));
        return (exit, process.Output);
    }

    private async Task<string> TeacherAsync()
    {
        var run = directory.File("teacher");
        var (exit, output) = await TrainLmAsync("--mode", "supervised", "--vocabulary-size", "300", "--steps", "10", "--eval-interval", "5", "--run-directory", run);
        Assert.True(exit == 0, output);
        return run;
    }

    [Fact]
    public async Task ATeacherRunWritesItsCheckpointReportAndMetricsAndAStudentLearnsFromIt()
    {
        var teacher = await TeacherAsync();

        var student = directory.File("student");
        var (exit, output) = await TrainLmAsync("--mode", "online", "--loss", "reverse_kl", "--k", "8", "--targets", "sampled",
            "--steps", "6", "--eval-interval", "3", "--run-directory", student, "--teacher-checkpoint", Path.Combine(teacher, "model"),
            "--tokenizer", Path.Combine(teacher, "model"), "--name", "reverse");

        Assert.True(exit == 0, output);
        using var model = HuggingFaceCheckpoint.Load(Path.Combine(student, "model"), CPU);
        using var teacherModel = HuggingFaceCheckpoint.Load(Path.Combine(teacher, "model"), CPU);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(student, "report.json")));
        var r = report.RootElement;
        Assert.Equal(("reverse", "online", "reverse_kl", "sampled8"), (r.GetProperty("name").GetString(), r.GetProperty("mode").GetString(),
            r.GetProperty("loss").GetString(), r.GetProperty("targets").GetString()));
        Assert.Equal((6, 6L * 8 * 16), (r.GetProperty("steps").GetInt32(), r.GetProperty("tokens").GetInt64()));
        Assert.Equal(model.Model.ParameterCount(), r.GetProperty("parameters").GetInt64());
        Assert.Equal([teacherModel.Version], r.GetProperty("teacher_versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(teacherModel.Tokenizer.Digest, model.Tokenizer.Digest);
        Assert.True(r.GetProperty("perplexity").GetDouble() is > 1 and < 400);
        Assert.Equal([0, 3, 6], r.GetProperty("validation").EnumerateArray().Select(m => m.GetProperty("step").GetInt32()));
        Assert.Equal(LanguageTrainJob.SamplePrompts.Count, r.GetProperty("samples").GetArrayLength());
        var metrics = File.ReadAllLines(Path.Combine(student, "metrics.csv"));
        Assert.Equal("step,train_loss,validation_loss,validation_perplexity,learning_rate,tokens,seconds,teacher_versions", metrics[0]);
        Assert.Equal(4, metrics.Length);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("8")]
    public async Task AStudentLearnsFromAnEnsembleOfTwoServedTeachersThatShareItsTokenizer(string k)
    {
        // Arrange: two tiny teachers with one tokenizer (the same fortunes, the same BPE) and other weights, in one service.
        var a = TinyLanguageModel.Write(directory.File("a"), seed: 1);
        var b = TinyLanguageModel.Write(directory.File("b"), seed: 2);
        using var teachers = RunningProcess.Start(Builds.Teacher, "--urls", "http://127.0.0.1:0",
            "--Teachers:0:Name=a", $"--Teachers:0:Checkpoint={a}", "--Teachers:1:Name=b", $"--Teachers:1:Checkpoint={b}");
        var address = await teachers.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1));
        var student = directory.File($"student-k{k}");

        // Act
        var (exit, output) = await TrainLmAsync("--mode", "online", "--loss", "forward_kl", "--alpha", "1", "--k", k, "--steps", "4", "--eval-interval", "2",
            "--run-directory", student, "--tokenizer", a, "--teacher", $"a@{address}", "--teacher", $"b@{address}:3");

        // Assert: the report names the ensemble, and its version is the one its two members make.
        Assert.True(exit == 0, output);
        Assert.Contains("learning from mixture-of-a+b: a at", output);
        using var modelA = HuggingFaceCheckpoint.Load(a, CPU);
        using var modelB = HuggingFaceCheckpoint.Load(b, CPU);
        Assert.NotEqual(modelA.Version, modelB.Version);
        var expected = Distillation.Losses.EnsembleTargets.Version(Distillation.Losses.EnsembleCombination.Mixture,
            [("a", modelA.Version, 1.0), ("b", modelB.Version, 3.0)]);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(student, "report.json")));
        Assert.Equal("mixture-of-a+b", report.RootElement.GetProperty("teacher").GetString());
        Assert.Equal([expected], report.RootElement.GetProperty("teacher_versions").EnumerateArray().Select(v => v.GetString()));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("8")]
    public async Task AStudentWithAnotherTokenizerLearnsFromAServedTeacherByUldOnPositionsAlignedByBytes(string k)
    {
        // Arrange: a served teacher with its own tokenizer; the student trains one of another size on the same text.
        var teacherModel = TinyLanguageModel.Write(directory.File("teacher"), seed: 1);
        using var teachers = RunningProcess.Start(Builds.Teacher, "--urls", "http://127.0.0.1:0", "--Teacher:Name=t", $"--Teacher:Checkpoint={teacherModel}");
        var address = await teachers.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1));
        var student = directory.File($"student-k{k}");

        // Act
        var (exit, output) = await TrainLmAsync("--mode", "online", "--loss", "uld", "--alpha", "0.5", "--k", k, "--steps", "4", "--eval-interval", "2",
            "--vocabulary-size", "320", "--run-directory", student, "--teacher", "t", "--teacher-address", address);

        // Assert: the student kept its own tokenizer, learned from the teacher's version, and aligned a good share of its positions.
        Assert.True(exit == 0, output);
        using var teacher = HuggingFaceCheckpoint.Load(teacherModel, CPU);
        using var model = HuggingFaceCheckpoint.Load(Path.Combine(student, "model"), CPU);
        Assert.NotEqual(teacher.Tokenizer.Digest, model.Tokenizer.Digest);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(student, "report.json")));
        var r = report.RootElement;
        Assert.Equal("uld", r.GetProperty("loss").GetString());
        Assert.Equal([teacher.Version], r.GetProperty("teacher_versions").EnumerateArray().Select(v => v.GetString()));
        var aligned = r.GetProperty("aligned_share").GetDouble();
        Assert.True(aligned is > 0.2 and < 1, $"{aligned:P1} of the student's positions aligned with the teacher's");
        var bitsPerByte = r.GetProperty("test_bits_per_byte").GetDouble();
        Assert.True(bitsPerByte is > 0.5 and < 20, $"test bits per byte {bitsPerByte}");
    }

    [Fact]
    public async Task AStudentWithAnotherTokenizerLearnsFromAServedTeachersDistributionCarriedOverToItsTokens()
    {
        // Arrange: a served teacher with its own tokenizer, given to the student too (--teacher-tokenizer).
        var teacherModel = TinyLanguageModel.Write(directory.File("teacher"), seed: 1);
        using var teachers = RunningProcess.Start(Builds.Teacher, "--urls", "http://127.0.0.1:0", "--Teacher:Name=t", $"--Teacher:Checkpoint={teacherModel}");
        var address = await teachers.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1));
        var student = directory.File("student-projected");

        // Act
        var (exit, output) = await TrainLmAsync("--mode", "online", "--loss", "projected_kl", "--alpha", "0.5", "--k", "0", "--steps", "4", "--eval-interval", "2",
            "--vocabulary-size", "320", "--run-directory", student, "--teacher", "t", "--teacher-address", address, "--teacher-tokenizer", teacherModel);

        // Assert
        Assert.True(exit == 0, output);
        using var teacher = HuggingFaceCheckpoint.Load(teacherModel, CPU);
        Assert.Contains($"of the teacher's {teacher.Tokenizer.VocabularySize} tokens carried over to the student's 320", output);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(student, "report.json")));
        var r = report.RootElement;
        Assert.Equal("projected_kl", r.GetProperty("loss").GetString());
        Assert.Equal([teacher.Version], r.GetProperty("teacher_versions").EnumerateArray().Select(v => v.GetString()));
        Assert.True(r.GetProperty("aligned_share").GetDouble() is > 0.2 and < 1);
        Assert.True(double.IsFinite(r.GetProperty("test_bits_per_byte").GetDouble()));
    }

    [Theory]
    [InlineData("none", "0", "give the teacher's tokenizer with --teacher-tokenizer")]
    [InlineData("teacher", "8", "ask for dense targets (k 0), not k 8")]
    [InlineData("other", "0", "give the teacher's own")]
    public async Task AProjectedStudentWithoutTheTeachersTokenizerOrDenseTargetsIsOneErrorLine(string teacherTokenizer, string k, string message)
    {
        // Arrange
        var teacherModel = TinyLanguageModel.Write(directory.File("teacher"), seed: 1);
        using var teachers = RunningProcess.Start(Builds.Teacher, "--urls", "http://127.0.0.1:0", "--Teacher:Name=t", $"--Teacher:Checkpoint={teacherModel}");
        var address = await teachers.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1));
        var other = directory.File("other.json");
        Distillation.Text.ByteLevelBpeJson.Write(other, Distillation.Text.BpeTrainer.Train(["another text, another tokenizer"], vocabularySize: 262));
        string[] given = teacherTokenizer switch { "teacher" => ["--teacher-tokenizer", teacherModel], "other" => ["--teacher-tokenizer", other], _ => [] };

        // Act
        var (exit, output) = await TrainLmAsync(["--mode", "online", "--loss", "projected_kl", "--k", k, "--steps", "2", "--vocabulary-size", "300",
            "--run-directory", directory.File("student"), "--teacher", "t", "--teacher-address", address, .. given]);

        // Assert
        Assert.NotEqual(0, exit);
        var line = Assert.Single(output.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains(message, line);
    }

    [Fact]
    public async Task AStudentWithAnotherTokenizerLearnsByUldFromATeacherInItsOwnProcess()
    {
        // Arrange: the teacher's model directory, read by the student's process (--teacher-checkpoint), tokenizes the text itself.
        var teacherModel = TinyLanguageModel.Write(directory.File("teacher"), seed: 3);
        var student = directory.File("student");

        // Act
        var (exit, output) = await TrainLmAsync("--mode", "online", "--loss", "uld", "--alpha", "0.5", "--k", "8", "--steps", "3", "--eval-interval", "3",
            "--vocabulary-size", "330", "--run-directory", student, "--teacher-checkpoint", teacherModel);

        // Assert
        Assert.True(exit == 0, output);
        using var teacher = HuggingFaceCheckpoint.Load(teacherModel, CPU);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(student, "report.json")));
        Assert.Equal([teacher.Version], report.RootElement.GetProperty("teacher_versions").EnumerateArray().Select(v => v.GetString()));
        Assert.True(report.RootElement.GetProperty("aligned_share").GetDouble() > 0.2);
    }

    [Theory]
    [InlineData("offline", "use mode online")]
    [InlineData("on_policy", "use mode online")]
    public async Task UldOutsideOnlineModeIsOneErrorLine(string mode, string message)
    {
        var (exit, output) = await TrainLmAsync("--mode", mode, "--loss", "uld", "--steps", "2", "--run-directory", directory.File("student"),
            "--teacher-address", "http://127.0.0.1:9");

        Assert.NotEqual(0, exit);
        var line = Assert.Single(output.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains(message, line);
    }

    [Fact]
    public async Task AStudentWhoseTokenizerIsNotItsTeachersIsRefusedWithOneLine()
    {
        var teacher = await TeacherAsync();

        // A tokenizer of another size is trained for the student: its digest differs from the teacher's.
        var (exit, output) = await TrainLmAsync("--mode", "online", "--vocabulary-size", "320", "--steps", "5",
            "--run-directory", directory.File("student"), "--teacher-checkpoint", Path.Combine(teacher, "model"));

        Assert.NotEqual(0, exit);
        var line = Assert.Single(output.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains("uses tokenizer", line);
        Assert.Contains("--tokenizer", line);
        Assert.DoesNotContain("   at ", output);
        Assert.False(File.Exists(Path.Combine(directory.File("student"), "state.bin")));
    }

    [Fact]
    public async Task ARunThatStartsFromACheckpointBeginsWhereThatModelEnded()
    {
        var teacher = await TeacherAsync();
        var student = directory.File("fine-tuned");

        // The same corpus and seed give the same validation windows; a vocabulary size of its own is overruled by the checkpoint's tokenizer.
        var (exit, output) = await TrainLmAsync("--mode", "supervised", "--vocabulary-size", "320", "--steps", "2", "--eval-interval", "1",
            "--init-checkpoint", Path.Combine(teacher, "model"), "--run-directory", student);

        Assert.True(exit == 0, output);
        using var started = JsonDocument.Parse(File.ReadAllText(Path.Combine(student, "report.json")));
        using var ended = JsonDocument.Parse(File.ReadAllText(Path.Combine(teacher, "report.json")));
        double before = started.RootElement.GetProperty("validation")[0].GetProperty("validation_loss").GetDouble();
        double teacherLast = ended.RootElement.GetProperty("validation").EnumerateArray().Last().GetProperty("validation_loss").GetDouble();
        Assert.Equal(teacherLast, before, 5);
        Assert.Equal(ended.RootElement.GetProperty("tokenizer_digest").GetString(), started.RootElement.GetProperty("tokenizer_digest").GetString());
    }

    [Theory]
    [InlineData(new[] { "--init-checkpoint", "/nowhere/lm" }, "/nowhere/lm (--init-checkpoint) is not a Hugging Face model directory")]
    [InlineData(new[] { "--mode", "sideways" }, "Mode must be supervised, offline, online, on_policy or blackbox.")]
    [InlineData(new[] { "--mode", "online", "--loss", "cosine" }, "Loss must be forward_kl, reverse_kl, jsd, skew_kl, skew_reverse_kl, uld or projected_kl.")]
    [InlineData(new[] { "--mode", "online", "--teacher-checkpoint", "/nowhere/lm" }, "teacher checkpoint /nowhere/lm is not a Hugging Face model directory")]
    [InlineData(new[] { "--tokenizer", "/nowhere/t.json" }, "No tokenizer file at /nowhere/t.json")]
    [InlineData(new[] { "--student-config", "/nowhere/config.json" }, "student config /nowhere/config.json (--student-config) does not exist")]
    [InlineData(new[] { "--architecture", "GPT2LMHeadModel" }, "Architecture must be LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM or Qwen3ForCausalLM.")]
    public async Task AUserMistakeIsOneErrorLineAndANonZeroExit(string[] arguments, string message)
    {
        var (exit, output) = await TrainLmAsync([.. arguments, "--run-directory", directory.File("mistake")]);

        Assert.Equal(TrainerHost.ExitUsage, exit);
        var line = Assert.Single(output.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains(message, line);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task ARunKilledHardResumesFromItsLastSave()
    {
        var run = directory.File("killed");
        string[] arguments = ["train-lm", .. Tiny, "--mode", "supervised", "--vocabulary-size", "300", "--steps", "100000",
            "--eval-interval", "10", "--checkpoint-interval", "10", "--run-directory", run];
        using (var first = RunningProcess.Start(Builds.StudentTrainer, arguments))
        {
            // By the evaluation of step 30, the save of step 20 is whole; the kill may land in the save of step 30.
            await first.WaitForAsync(@"step 30: train loss", TimeSpan.FromMinutes(1));
            first.Kill();
        }

        using var second = RunningProcess.Start(Builds.StudentTrainer, arguments);
        var resumedAfter = int.Parse(await second.WaitForAsync(@"resuming after step (\d+)", TimeSpan.FromMinutes(1)));
        var next = int.Parse(await second.WaitForAsync(@"step (\d+): train loss", TimeSpan.FromMinutes(1)));

        Assert.True(resumedAfter >= 20 && resumedAfter % 10 == 0, $"resumed after step {resumedAfter}");
        Assert.Equal(resumedAfter + 10, next);
    }

    [Fact]
    public async Task SigtermStopsARunWithOneLineAndItResumesFromItsLastSave()
    {
        string[] arguments = ["train-lm", .. Tiny, "--mode", "supervised", "--vocabulary-size", "300", "--steps", "100000",
            "--eval-interval", "10", "--checkpoint-interval", "10", "--run-directory", directory.File("stopped")];
        using var process = RunningProcess.Start(Builds.StudentTrainer, arguments);
        await process.WaitForAsync(@"step 10: train loss", TimeSpan.FromMinutes(1));

        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        var exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(TrainerHost.ExitFailure, exit);
        var line = Assert.Single(process.Output.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains("cancelled; the run resumes from its last save", line);
        Assert.True(File.Exists(Path.Combine(directory.File("stopped"), "state.bin")));
    }

    public void Dispose() => directory.Dispose();
}
