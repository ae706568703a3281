using System.Text.RegularExpressions;

namespace TeacherStudent.StudentTrainer;

/// <summary>
/// Answers read out of generated text and put to a vote (self-consistency, Wang et al. 2022): the
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
        var counts = texts.Select(Extract).OfType<string>().GroupBy(a => a, StringComparer.Ordinal)
            .Select(g => (Answer: g.Key, Votes: g.Count())).OrderByDescending(g => g.Votes).ToArray();
        if (counts.Length == 0) return (null, 0);
        double share = counts[0].Votes / (double)texts.Count;
        bool tied = counts.Length > 1 && counts[1].Votes == counts[0].Votes;
        return tied || share < agreement ? (null, share) : (counts[0].Answer, share);
    }
}
