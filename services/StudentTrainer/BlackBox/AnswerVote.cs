using System.Text.RegularExpressions;
using TeacherStudent.Distillation.Reasoning;

namespace TeacherStudent.StudentTrainer.BlackBox;

/// <summary>
/// Answers read out of generated text by a pattern and put to <see cref="SelfConsistencyVote"/>: the
/// answer most samples agree on wins when its share of all samples reaches the agreement asked
/// for and no other answer has as many votes; otherwise there is no answer.
/// </summary>
public sealed class AnswerVote
{
    private readonly Regex pattern;
    private readonly double agreement;

    /// <param name="pattern">A regular expression whose first group is the answer (the first match in a text counts).</param>
    /// <param name="agreement">Share of the samples the winning answer needs, in (0, 1].</param>
    public AnswerVote(string pattern, double agreement = 0)
    {
        try
        {
            this.pattern = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"the answer pattern '{pattern}' is not a regular expression: {e.Message}", e);
        }
        if (this.pattern.GetGroupNumbers().Length < 2) throw new ArgumentException($"the answer pattern '{pattern}' needs a group, (...), around the answer.");
        if (!(agreement is >= 0 and <= 1)) throw new ArgumentException($"the agreement must be in [0, 1], not {agreement}.");
        this.agreement = agreement;
    }

    /// <summary>The answer in <paramref name="text"/> (trimmed), or null when there is none.</summary>
    public string? Extract(string text)
    {
        var match = pattern.Match(text);
        return match.Success && match.Groups[1].Value.Trim() is { Length: > 0 } answer ? answer : null;
    }

    /// <summary>The winning answer of <paramref name="texts"/>, and the share of the samples that gave it; null when the vote is not clear.</summary>
    public (string? Answer, double Share) Decide(IReadOnlyList<string> texts)
    {
        // Agreement 0 asks only for a leader: any clarity above 0 that one vote meets.
        var vote = SelfConsistencyVote.Of(texts.Select(Extract).ToArray(), Math.Max(agreement, double.Epsilon));
        return (vote.IsClear ? vote.Answer : null, vote.Share);
    }
}
