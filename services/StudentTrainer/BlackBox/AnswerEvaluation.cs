using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TeacherStudent.Contracts.V1;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.Language;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.BlackBox;

/// <summary>
/// What the <c>evaluate-answers</c> command asks (configuration section "Evaluation"): a teacher
/// service's model answers questions with known answers through Generate, one sample each
/// (answering directly) or several put to a vote (self-consistency).
/// </summary>
public sealed class AnswerEvaluationOptions
{
    public const string Section = "Evaluation";

    [Description("JSON lines, one question per line, with the prompt and the right answer")]
    [Required(AllowEmptyStrings = false)]
    public string Questions { get; set; } = "";

    [Description("field of each line holding the prompt the model continues")]
    [Required(AllowEmptyStrings = false)]
    public string PromptField { get; set; } = "prompt";

    [Description("field of each line holding the right answer")]
    [Required(AllowEmptyStrings = false)]
    public string AnswerField { get; set; } = "answer";

    [Description("regular expression whose first group is the answer in the model's text")]
    [Required(AllowEmptyStrings = false)]
    public string AnswerPattern { get; set; } = "";

    [Description("samples per question; more than one are put to a majority vote")]
    [Range(1, 1024)]
    public int Samples { get; set; } = 1;

    [Description("share of the samples the winning answer needs (0 = a plain majority without ties)")]
    [Range(0.0, 1.0)]
    public double Agreement { get; set; }

    [Description("sampling temperature (0 = the most likely tokens)")]
    [Range(0.0, 100.0)]
    public double Temperature { get; set; }

    [Description("nucleus (top-p) of the samples")]
    [Range(1e-6, 1.0)]
    public double TopP { get; set; } = 1;

    [Description("most tokens per sample (0 = the teacher's default)")]
    [Range(0, 65536)]
    public int MaxNewTokens { get; set; }

    [Description("seed of the samples")]
    public long Seed { get; set; } = 1;

    [Description("only the first N questions (0 = all)")]
    [Range(0, int.MaxValue)]
    public int Limit { get; set; }

    [Description("name of this evaluation in reports")]
    public string Name { get; set; } = "";

    [Description("where the figures go, as JSON")]
    [Required(AllowEmptyStrings = false)]
    public string Out { get; set; } = "artifacts/evaluation.json";
}

/// <summary>The figures of one evaluation.</summary>
/// <param name="Accuracy">Share of the questions whose (voted) answer is the right one.</param>
/// <param name="Answered">Share of the questions that got an answer at all (a clear vote).</param>
/// <param name="TokensPerAnswer">Tokens the model wrote per question, all its samples together.</param>
/// <param name="FromCache">Samples the teacher's generation cache answered.</param>
public sealed record AnswerEvaluationReport(string Name, string Teacher, string TeacherVersion, int Questions, int SamplesPerQuestion,
    double Accuracy, double Answered, double TokensPerAnswer, int FromCache, double Seconds, IReadOnlyList<AnsweredQuestion> Examples);

/// <summary>One question as answered, for reading.</summary>
public sealed record AnsweredQuestion(string Prompt, string Expected, string? Answer, IReadOnlyList<string> Texts);

/// <summary>The <c>evaluate-answers</c> job.</summary>
public sealed class AnswerEvaluationJob(IOptions<AnswerEvaluationOptions> options, IOptions<TeacherClientOptions> teacher)
{
    private const int ExamplesKept = 5;

    public async Task<AnswerEvaluationReport> RunAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var t = teacher.Value;
        t.RequireOneTeacher("evaluate-answers");
        var clock = Stopwatch.StartNew();
        var vote = new AnswerVote(o.AnswerPattern, o.Agreement);
        var questions = JsonLines.Read(o.Questions, o.PromptField, o.AnswerField);
        if (o.Limit > 0) questions = questions.Take(o.Limit).ToList();
        var name = o.Name.Length > 0 ? o.Name : $"{t.Teacher} x{o.Samples}";

        using var channel = TeacherChannel.Create(t, new Grpc.Net.Client.GrpcChannelOptions());
        var generations = new TeacherGenerations(new Teacher.TeacherClient(channel), t,
            new TeacherRetry(TimeSpan.FromSeconds(t.RetrySeconds), line => Console.WriteLine($"[{name}] {line}")));
        var settings = new GenerationRequestSettings(o.Samples, o.MaxNewTokens, (float)o.Temperature, (float)o.TopP, [], o.Seed);
        var (samples, counts, info) = await generations.FetchAsync(questions.Select(q => q[o.PromptField]).ToArray(), settings, cancellationToken);

        int right = 0, answered = 0;
        var examples = new List<AnsweredQuestion>();
        for (int q = 0; q < questions.Count; q++)
        {
            var texts = samples[q].Select(s => s.Text).ToArray();
            var (answer, _) = vote.Decide(texts);
            var expected = questions[q][o.AnswerField].Trim();
            if (answer is not null) answered++;
            if (answer == expected) right++;
            if (examples.Count < ExamplesKept) examples.Add(new AnsweredQuestion(questions[q][o.PromptField], expected, answer, texts));
        }
        var report = new AnswerEvaluationReport(name, info.Name, info.Version, questions.Count, o.Samples, right / (double)questions.Count,
            answered / (double)questions.Count, counts.CompletionTokens / (double)questions.Count, counts.FromCache, clock.Elapsed.TotalSeconds, examples);

        if (Path.GetDirectoryName(Path.GetFullPath(o.Out)) is { } directory) Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(o.Out, JsonSerializer.Serialize(report, LanguageRunOutputs.Json), cancellationToken);
        Console.WriteLine($"[{name}] accuracy {report.Accuracy:P1} on {report.Questions} questions ({report.Answered:P1} answered), " +
                          $"{report.TokensPerAnswer:0.0} tokens per answer, {counts.FromCache} of {counts.Samples} samples from the cache, {report.Seconds:0}s");
        return report;
    }
}
