namespace TeacherStudent.Distillation.Reasoning;

/// <summary>
/// Last-letter concatenation (Wei et al. 2022): join the last letters of 2-4 names, e.g.
/// "Join the last letters of Maria, John, Paul." -> "anl". A name is one or two tokens to a BPE
/// model, so its last letter is not in plain sight: the trace names each name's last letter in
/// turn, while a direct answer must look up all of them and spell them as one string in one go.
/// </summary>
/// <param name="MinWords">Fewest names in a problem.</param>
/// <param name="MaxWords">Most names in a problem.</param>
public sealed record LastLetterTask(int MinWords = 2, int MaxWords = 4) : IReasoningTask
{
    /// <summary>The task's name.</summary>
    public const string TaskName = "last_letter";

    public string Name => TaskName;

    public ReasoningProblem Draw(Random random)
    {
        if (MinWords < 1 || MaxWords < MinWords || MaxWords > PersonNames.All.Count)
            throw new ArgumentException($"names per problem must satisfy 1 <= {MinWords} <= {MaxWords} <= {PersonNames.All.Count}.");
        int count = random.Next(MinWords, MaxWords + 1);
        var names = PersonNames.Draw(random, count);
        var letters = names.Select(n => char.ToLowerInvariant(n[^1])).ToArray();
        var question = $"Join the last letters of {string.Join(", ", names)}.";
        var trace = string.Join(' ', names.Select((n, i) => $"{n} ends in {letters[i]}."));
        return new ReasoningProblem(TaskName, question, new string(letters), trace);
    }

    public string? NormalizeAnswer(string candidate)
    {
        var answer = candidate.Trim().ToLowerInvariant();
        return answer.Length > 0 && answer.All(char.IsAsciiLetterLower) ? answer : null;
    }
}
