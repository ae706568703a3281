using System.Diagnostics;
using Grpc.Net.Client;
using TeacherStudent.Contracts.V1;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.BlackBox;

/// <summary>What a black-box run learned from.</summary>
/// <param name="Samples">Samples fetched: prompts x samples per prompt.</param>
/// <param name="FromCache">Of those, answered by the teacher's generation cache.</param>
/// <param name="Generated">Of those, written by the teacher for this run.</param>
/// <param name="PromptTokens">Tokens the teacher read, as it counts them, cached samples included.</param>
/// <param name="CompletionTokens">Tokens the teacher wrote, as it counts them, cached samples included.</param>
/// <param name="Voted">With an answer pattern: prompts whose samples agreed clearly (the rest are left out); else null.</param>
/// <param name="VotedRight">With an answer field in the prompts: how many voted answers were right (for reading; never used in training).</param>
/// <param name="Texts">Training texts made of them.</param>
public sealed record BlackBoxReport(string Teacher, string TeacherVersion, int Prompts, int SamplesPerPrompt, int Samples, int FromCache, int Generated,
    long PromptTokens, long CompletionTokens, int? Voted, int? VotedRight, int Texts, double Seconds);

/// <summary>
/// The training text of a black-box student: the teacher's samples for a prompt set, fetched with
/// Generate (<see cref="TeacherGenerations"/>), turned into text as <see cref="BlackBoxOptions"/>
/// says. The texts are also written to the run directory (<see cref="FileName"/>), to read.
/// </summary>
public static class BlackBoxCorpus
{
    public const string FileName = "training-texts.jsonl";

    /// <summary>Field of a prompt line holding the right answer, counted in the report when present.</summary>
    public const string AnswerField = "answer";

    public static async Task<(IReadOnlyList<string> Texts, BlackBoxReport Report)> CollectAsync(BlackBoxOptions o, TeacherClientOptions t,
        string runDirectory, Action<string> note, CancellationToken cancellationToken)
    {
        if (o.Prompts.Length == 0) throw new ArgumentException("--mode blackbox needs --prompts: a file of JSON lines holding the teacher's prompts.");
        var clock = Stopwatch.StartNew();
        var vote = o.AnswerPattern.Length > 0 ? new AnswerVote(o.AnswerPattern, o.Agreement) : null;
        var lines = JsonLines.Read(o.Prompts, o.PromptField);
        var prompts = lines.Select(l => l[o.PromptField]).ToArray();

        using var channel = TeacherChannel.Create(t, new GrpcChannelOptions());
        var generations = new TeacherGenerations(new Teacher.TeacherClient(channel), t, new TeacherRetry(TimeSpan.FromSeconds(t.RetrySeconds), note))
        {
            Progress = (done, all) => note($"teacher wrote for {done} of {all} prompts"),
        };
        var settings = new GenerationRequestSettings(o.Samples, o.MaxNewTokens, (float)o.GenerationTemperature, (float)o.GenerationTopP, [], o.GenerationSeed);
        var (samples, counts, info) = await generations.FetchAsync(prompts, settings, cancellationToken);

        var texts = new List<string>();
        int? voted = null, votedRight = null;
        if (vote is null)
        {
            for (int p = 0; p < prompts.Length; p++) texts.AddRange(samples[p].Select(s => prompts[p] + s.Text));
        }
        else
        {
            voted = 0;
            votedRight = lines.All(l => l.ContainsKey(AnswerField)) ? 0 : null;
            for (int p = 0; p < prompts.Length; p++)
            {
                var (answer, _) = vote.Decide(samples[p].Select(s => s.Text).ToArray());
                if (answer is null) continue;
                voted++;
                if (votedRight is not null && answer == lines[p][AnswerField].Trim()) votedRight++;
                var studentPrompt = lines[p].GetValueOrDefault(o.StudentPromptField) ?? prompts[p];
                texts.Add(studentPrompt + o.AnswerTemplate.Replace("{answer}", answer, StringComparison.Ordinal));
            }
        }
        if (texts.Count == 0) throw new InvalidDataException($"the teacher's samples gave no training text (no prompt's samples agreed on an answer matching '{o.AnswerPattern}').");

        Directory.CreateDirectory(runDirectory);
        await JsonLines.WriteAsync(Path.Combine(runDirectory, FileName), texts.Select(text => new { text }), cancellationToken);
        var report = new BlackBoxReport(info.Name, info.Version, prompts.Length, o.Samples, counts.Samples, counts.FromCache, counts.Generated,
            counts.PromptTokens, counts.CompletionTokens, voted, votedRight, texts.Count, clock.Elapsed.TotalSeconds);
        note($"{counts.Samples} samples ({counts.FromCache} from the teacher's cache, {counts.Generated} written now; " +
             $"{counts.PromptTokens} prompt and {counts.CompletionTokens} completion tokens)" +
             (voted is { } v ? $", {v} of {prompts.Length} prompts voted clearly" + (votedRight is { } r ? $" ({r} right)" : "") : "") +
             $": {texts.Count} training texts");
        return (texts, report);
    }
}
