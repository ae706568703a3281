namespace TeacherStudent.Distillation.Reasoning;

/// <summary>
/// Coin flip (Wei et al. 2022, the task of Meta's "Distilling System 2 into System 1"): a coin
/// starts heads up, 2-6 people in turn flip it or leave it, and the question is whether it is
/// still heads up. The answer is the parity of the flips, which a step-by-step trace tracks one
/// person at a time ("Ann flips it: tails up.") but a direct answer must count in one go.
/// Each action is worded one of two ways, so the parity is read from meaning, not from one phrase.
/// </summary>
/// <param name="MinPeople">Fewest people in a problem.</param>
/// <param name="MaxPeople">Most people in a problem.</param>
public sealed record CoinFlipTask(int MinPeople = 2, int MaxPeople = 6) : IReasoningTask
{
    /// <summary>The task's name.</summary>
    public const string TaskName = "coin_flip";

    /// <summary>How a person flips the coin, in the question.</summary>
    public static IReadOnlyList<string> FlipWordings { get; } = ["flips the coin", "turns the coin over"];

    /// <summary>How a person leaves the coin as it is, in the question.</summary>
    public static IReadOnlyList<string> KeepWordings { get; } = ["does not flip the coin", "leaves the coin alone"];

    public string Name => TaskName;

    public ReasoningProblem Draw(Random random)
    {
        if (MinPeople < 1 || MaxPeople < MinPeople || MaxPeople > PersonNames.All.Count)
            throw new ArgumentException($"people per problem must satisfy 1 <= {MinPeople} <= {MaxPeople} <= {PersonNames.All.Count}.");
        int people = random.Next(MinPeople, MaxPeople + 1);
        var names = PersonNames.Draw(random, people);
        bool heads = true;
        var actions = new List<string>(people);
        var steps = new List<string>(people + 1) { "It starts heads up." };
        foreach (var name in names)
        {
            bool flips = random.Next(2) == 0;
            var wordings = flips ? FlipWordings : KeepWordings;
            actions.Add($"{name} {wordings[random.Next(wordings.Count)]}.");
            if (flips) heads = !heads;
            steps.Add($"{name} {(flips ? "flips it" : "does not")}: {(heads ? "heads" : "tails")} up.");
        }
        var question = $"A coin is heads up. {string.Join(' ', actions)} Is the coin still heads up?";
        return new ReasoningProblem(TaskName, question, heads ? "yes" : "no", string.Join(' ', steps));
    }

    public string? NormalizeAnswer(string candidate)
    {
        var answer = candidate.Trim().ToLowerInvariant();
        return answer is "yes" or "no" ? answer : null;
    }
}
