using System.Text.Json;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Net.Client;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.StudentTrainer.BlackBox;

namespace TeacherStudent.StudentTrainer.Tests.BlackBox;

/// <summary>A teacher service process holding a tiny untrained language model, which writes reproducible noise.</summary>
public sealed class TextTeacherFixture : IAsyncLifetime
{
    private readonly TemporaryDirectory directory = new("blackbox-teacher");
    private RunningProcess teacher = null!;
    private GrpcChannel channel = null!;

    public string Address { get; private set; } = "";
    public Teacher.TeacherClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var checkpoint = TinyLanguageModel.Write(directory.File("lm"), vocabularySize: 350, contextLength: 32);
        teacher = RunningProcess.Start(Builds.Teacher,
            ["--urls", "http://127.0.0.1:0", "--Teacher:Name=writer", $"--Teacher:Checkpoint={checkpoint}", "--Teacher:Device=cpu"]);
        Address = await teacher.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1));
        channel = GrpcChannel.ForAddress(Address);
        Client = new Teacher.TeacherClient(channel);
    }

    /// <summary>The samples of one Generate call, by prompt, in sample order.</summary>
    public async Task<GeneratedSample[][]> GenerateAsync(string[] prompts, int n, int maxNewTokens, float temperature, long seed)
    {
        using var call = Client.Generate(new GenerateRequest
        {
            Teacher = "writer", Prompts = { prompts }, N = n, MaxNewTokens = maxNewTokens, Temperature = temperature, Seed = seed,
        });
        var samples = prompts.Select(_ => new GeneratedSample[n]).ToArray();
        await foreach (var response in call.ResponseStream.ReadAllAsync())
            foreach (var sample in response.Samples) samples[sample.PromptIndex][sample.SampleIndex] = sample;
        return samples;
    }

    public Task DisposeAsync()
    {
        channel.Dispose();
        teacher.Dispose();
        directory.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// train-lm --mode blackbox and evaluate-answers as a user runs them, against a teacher service
/// process: the training text is exactly the teacher's samples (or the answers they agree on),
/// fetched through Generate, and a second fetch is answered by the teacher's cache.
/// </summary>
public sealed class BlackBoxTests(TextTeacherFixture teacher) : IClassFixture<TextTeacherFixture>, IDisposable
{
    private static readonly string[] Tiny =
    [
        "--layers", "1", "--width", "16", "--heads", "2", "--context-length", "16", "--batch-size", "8", "--vocabulary-size", "300",
        "--eval-windows", "4", "--test-windows", "4", "--sample-tokens", "4", "--device", "cpu", "--steps", "4", "--eval-interval", "0",
    ];

    private readonly TemporaryDirectory directory = new("blackbox-tests");

    public void Dispose() => directory.Dispose();

    private static async Task<(int ExitCode, string Output)> RunAsync(params string[] arguments)
    {
        using var process = RunningProcess.Start(Builds.StudentTrainer, arguments);
        var exit = await process.WaitForExitAsync(TimeSpan.FromMinutes(2));
        return (exit, process.Output);
    }

    private string Lines(string name, IEnumerable<object> rows)
    {
        var path = directory.File(name);
        File.WriteAllLines(path, rows.Select(r => JsonSerializer.Serialize(r)));
        return path;
    }

    private static string[] Prompts(int count) => Enumerable.Range(0, count).Select(i => $"Fortune {i} says").ToArray();

    private const string FirstWordPattern = @"^\s*(\S+)";

    private static string? FirstWord(string text) => Regex.Match(text, FirstWordPattern) is { Success: true } m ? m.Groups[1].Value : null;

    private static JsonElement Report(string run) => JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "report.json"))).RootElement;

    private static string[] TrainingTexts(string run) =>
        File.ReadAllLines(Path.Combine(run, BlackBoxCorpus.FileName)).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!).ToArray();

    [Fact]
    public async Task AStudentLearnsFromPromptPlusEverySampleAndASecondFetchComesFromTheCache()
    {
        // Enough texts that the 5% validation and test splits (by hash) are never empty.
        var prompts = Prompts(100);
        var file = Lines("prompts.jsonl", prompts.Select(p => new { prompt = p }));
        var run = directory.File("student");
        string[] blackBox = ["--mode", "blackbox", "--prompts", file, "--samples", "2", "--max-new-tokens", "10", "--generation-seed", "7"];

        var (exit, output) = await RunAsync(["train-lm", .. Tiny, .. blackBox, "--run-directory", run, "--teacher-address", teacher.Address, "--teacher", "writer"]);

        Assert.True(exit == 0, output);
        var samples = await teacher.GenerateAsync(prompts, 2, 10, 1, 7);  // the same request: from the cache now
        Assert.All(samples.SelectMany(s => s), s => Assert.True(s.Cached));
        Assert.Equal(prompts.SelectMany((p, i) => samples[i].Select(s => p + s.Text)), TrainingTexts(run));
        var report = Report(run);
        Assert.Equal("blackbox", report.GetProperty("mode").GetString());
        var fetched = report.GetProperty("black_box");
        Assert.Equal((100, 2, 200, 0, 200), (fetched.GetProperty("prompts").GetInt32(), fetched.GetProperty("samples_per_prompt").GetInt32(),
            fetched.GetProperty("samples").GetInt32(), fetched.GetProperty("from_cache").GetInt32(), fetched.GetProperty("generated").GetInt32()));
        Assert.Equal(samples.SelectMany(s => s).Sum(s => (long)s.CompletionTokens), fetched.GetProperty("completion_tokens").GetInt64());

        var again = directory.File("again");
        (exit, output) = await RunAsync(["train-lm", .. Tiny, .. blackBox, "--run-directory", again, "--teacher-address", teacher.Address, "--teacher", "writer",
            "--corpus-test", "true"]);
        Assert.True(exit == 0, output);
        Assert.Equal(200, Report(again).GetProperty("black_box").GetProperty("from_cache").GetInt32());
        // Measured on the fortunes' test split too, which its teacher's text stood in for: other tokens, other figures.
        var corpus = Report(again).GetProperty("corpus_test");
        Assert.True(corpus.GetProperty("tokens").GetInt64() > 0);
        Assert.NotEqual(Report(again).GetProperty("perplexity").GetDouble(), corpus.GetProperty("perplexity").GetDouble());
        Assert.True(corpus.GetProperty("bits_per_byte").GetDouble() is > 0 and < 20);
        Assert.False(report.TryGetProperty("corpus_test", out _)); // the first run was not asked
    }

    [Fact]
    public async Task WithAnAnswerPatternTheStudentLearnsOnlyTheVotedAnswerAfterItsOwnPrompt()
    {
        var prompts = Prompts(200).Select(p => p + " the answer is").ToArray();
        // At temperature 0 every sample of a prompt is the same text, so every vote is clear; its first word is the answer.
        var samples = await teacher.GenerateAsync(prompts, 1, 6, 0, 1);
        var answers = samples.Select(s => FirstWord(s[0].Text)).ToArray();
        var file = Lines("voted.jsonl", prompts.Select((p, i) => new
        {
            prompt = p, student_prompt = $"Q{i}: direct.", answer = i % 2 == 0 ? answers[i] ?? "-" : "never-this",
        }));
        var run = directory.File("voted");

        var (exit, output) = await RunAsync(["train-lm", .. Tiny, "--mode", "blackbox", "--prompts", file, "--samples", "3", "--max-new-tokens", "6",
            "--generation-temperature", "0", "--answer-pattern", FirstWordPattern, "--answer-template", " A: {answer}", "--run-directory", run,
            "--teacher-address", teacher.Address, "--teacher", "writer"]);

        Assert.True(exit == 0, output);
        var expected = prompts.Select((_, i) => answers[i] is { } a ? $"Q{i}: direct. A: {a}" : null).OfType<string>();
        Assert.Equal(expected, TrainingTexts(run));
        var fetched = Report(run).GetProperty("black_box");
        Assert.Equal(answers.Count(a => a is not null), fetched.GetProperty("voted").GetInt32());
        Assert.Equal(answers.Where((a, i) => a is not null && i % 2 == 0).Count(), fetched.GetProperty("voted_right").GetInt32());
    }

    [Fact]
    public async Task EvaluateAnswersScoresTheVotedAnswerAgainstTheRightOneAndCountsTokens()
    {
        var prompts = Prompts(20).Select(p => p + " so").ToArray();
        var samples = await teacher.GenerateAsync(prompts, 1, 5, 0, 3);
        var answers = samples.Select(s => FirstWord(s[0].Text) ?? "-").ToArray();
        // Every fourth question's answer is wrong on purpose.
        var file = Lines("questions.jsonl", prompts.Select((p, i) => new { prompt = p, answer = i % 4 == 0 ? "wrong" : answers[i] }));
        var output = directory.File("evaluation.json");

        var (exit, log) = await RunAsync("evaluate-answers", "--questions", file, "--answer-pattern", FirstWordPattern, "--samples", "3",
            "--max-new-tokens", "5", "--seed", "3", "--out", output, "--teacher-address", teacher.Address, "--teacher", "writer");

        Assert.True(exit == 0, log);
        var report = JsonDocument.Parse(File.ReadAllText(output)).RootElement;
        int answerable = answers.Count(a => a != "-");
        double expected = Enumerable.Range(0, 20).Count(i => i % 4 != 0 && answers[i] != "-") / 20.0;
        Assert.Equal(expected, report.GetProperty("accuracy").GetDouble(), 6);
        Assert.Equal(answerable / 20.0, report.GetProperty("answered").GetDouble(), 6);
        Assert.Equal(3 * samples.Sum(s => s[0].CompletionTokens) / 20.0, report.GetProperty("tokens_per_answer").GetDouble(), 6);
    }

    [Fact]
    public async Task ABadPromptFileIsOneClearLineAndAUsageExit()
    {
        var file = directory.File("broken.jsonl");
        File.WriteAllText(file, "{\"prompt\": \"fine\"}\nnot json\n");

        var (exit, output) = await RunAsync(["train-lm", .. Tiny, "--mode", "blackbox", "--prompts", file, "--run-directory", directory.File("x"),
            "--teacher-address", teacher.Address, "--teacher", "writer"]);

        Assert.Equal(2, exit);
        Assert.Contains($"error: {file}:2 is not a JSON object", output);
    }
}
