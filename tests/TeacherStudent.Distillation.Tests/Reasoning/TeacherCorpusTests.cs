using TeacherStudent.Distillation.Reasoning;

namespace TeacherStudent.Distillation.Tests.Reasoning;

public sealed class TeacherCorpusTests
{
    private static readonly IReasoningTask[] Tasks = [new CoinFlipTask(), new LastLetterTask()];

    [Fact]
    public void TheCorpusHoldsTracesMostlyAndTheAskedShareOfDirectAnswersPerTask()
    {
        var corpus = TeacherCorpus.Build(Tasks, 1000, 0.1, new Random(1), new HashSet<string>());

        Assert.Equal(2000, corpus.Count);
        foreach (var opening in new[] { "Q: A coin is heads up.", "Q: Join the last letters of" })
        {
            var entries = corpus.Where(e => e.StartsWith(opening, StringComparison.Ordinal)).ToList();
            Assert.Equal(1000, entries.Count);
            Assert.Equal(100, entries.Count(e => e.Contains("\nA: The answer is ", StringComparison.Ordinal)));
            Assert.Equal(900, entries.Count(e => e.Contains("\nA: Let's think step by step. ", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public void EveryEntryIsATrainingProblemWithItsCorrectAnswerAndNoQuestionRepeats()
    {
        var taken = new HashSet<string>();

        var corpus = TeacherCorpus.Build(Tasks, 500, 0.3, new Random(2), taken);

        var questions = corpus.Select(e => e[3..e.IndexOf('\n')]).ToList();
        Assert.Equal(questions.Count, questions.Distinct().Count());
        Assert.Equal(taken.Order(), questions.Order());
        foreach (var entry in corpus)
        {
            var task = entry.StartsWith("Q: A coin", StringComparison.Ordinal) ? Tasks[0] : Tasks[1];
            var question = entry[3..entry.IndexOf('\n')];
            Assert.False(ProblemSplit.IsHeldOut(task.Name, question));
            // Both forms end "... answer is X."; X must be the answer worked out from the question itself.
            var answer = entry[(entry.LastIndexOf(" is ", StringComparison.Ordinal) + 4)..^1];
            Assert.Equal(IndependentAnswer(task, question), answer);
        }
    }

    [Fact]
    public void TheTasksAreInterleaved()
    {
        var corpus = TeacherCorpus.Build(Tasks, 200, 0.1, new Random(3), new HashSet<string>());

        var firstHalfCoins = corpus.Take(200).Count(e => e.StartsWith("Q: A coin", StringComparison.Ordinal));

        Assert.InRange(firstHalfCoins, 60, 140);
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(1.0, 10)]
    [InlineData(0.25, 2)]   // 2.5 rounds to even
    public void TheDirectShareIsRoundedToWholeProblems(double fraction, int direct)
    {
        var corpus = TeacherCorpus.Build([new LastLetterTask()], 10, fraction, new Random(4), new HashSet<string>());

        Assert.Equal(direct, corpus.Count(e => e.Contains("A: The answer is", StringComparison.Ordinal)));
    }

    /// <summary>The answer read off the question text, not taken from the generator.</summary>
    internal static string IndependentAnswer(IReasoningTask task, string question)
    {
        if (task is CoinFlipTask)
        {
            int flips = CountOf(question, "flips the coin") + CountOf(question, "turns the coin over");
            return flips % 2 == 0 ? "yes" : "no";
        }
        var names = question["Join the last letters of ".Length..^1].Split(", ");
        return string.Concat(names.Select(n => char.ToLowerInvariant(n[^1])));
    }

    private static int CountOf(string text, string phrase) => (text.Length - text.Replace(phrase, "", StringComparison.Ordinal).Length) / phrase.Length;
}
