namespace TeacherStudent.Distillation.Reasoning;

/// <summary>
/// The outcome of a majority vote over several sampled answers to one question (self-consistency,
/// Wang et al. 2023).
/// </summary>
/// <param name="Answer">The answer most samples gave; null when no sample gave one or two answers tie for the most votes.</param>
/// <param name="Votes">Samples that gave <paramref name="Answer"/> (the most votes any answer got, when there is a tie).</param>
/// <param name="Samples">Samples in all, counting those whose answer could not be read.</param>
/// <param name="IsClear">Whether there is an answer and at least the clarity threshold of all samples gave it.</param>
public sealed record Vote(string? Answer, int Votes, int Samples, bool IsClear)
{
    /// <summary>Share of all samples that gave the answer.</summary>
    public double Share => Samples == 0 ? 0 : (double)Votes / Samples;
}

/// <summary>
/// Self-consistency: the answer of a question is the one most of its samples reach. In
/// "Distilling System 2 into System 1" a question is kept as a training example only when that
/// vote is clear, so that the student learns from answers the teacher is consistent about.
/// </summary>
public static class SelfConsistencyVote
{
    /// <summary>
    /// The vote over <paramref name="answers"/> (null = a sample whose answer could not be read;
    /// it counts as a sample but votes for nothing). Clear when one answer leads and at least
    /// <paramref name="clarity"/> of all samples gave it (0.5 asks for a majority of the samples,
    /// 1 for every sample).
    /// </summary>
    public static Vote Of(IReadOnlyList<string?> answers, double clarity)
    {
        if (!(clarity is > 0 and <= 1)) throw new ArgumentException($"the clarity threshold must be in (0, 1], not {clarity}.");
        var counts = answers.OfType<string>().GroupBy(a => a, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        if (counts.Count == 0) return new Vote(null, 0, answers.Count, false);
        int most = counts.Values.Max();
        var leaders = counts.Where(c => c.Value == most).Select(c => c.Key).ToList();
        if (leaders.Count > 1) return new Vote(null, most, answers.Count, false);
        // The tolerance keeps 0.7 of 10 samples at 7 votes (0.7 * 10 is 7.000000000000001 in doubles).
        return new Vote(leaders[0], most, answers.Count, most >= clarity * answers.Count - 1e-9);
    }
}
