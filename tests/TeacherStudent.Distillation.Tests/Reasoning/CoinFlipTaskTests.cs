using System.Text.RegularExpressions;
using TeacherStudent.Distillation.Reasoning;

namespace TeacherStudent.Distillation.Tests.Reasoning;

public sealed partial class CoinFlipTaskTests
{
    [Fact]
    public void TheAnswerIsWhetherTheQuestionHoldsAnEvenNumberOfFlips()
    {
        var task = new CoinFlipTask();
        var random = new Random(7);

        for (int i = 0; i < 500; i++)
        {
            var problem = task.Draw(random);

            // An independent reading of the question: count the sentences that flip the coin.
            var actions = Action().Matches(problem.Question).Select(m => m.Groups["what"].Value).ToList();
            int flips = actions.Count(w => w is "flips the coin" or "turns the coin over");
            Assert.Equal(actions.Count, actions.Count(w => w is "flips the coin" or "turns the coin over" or "does not flip the coin" or "leaves the coin alone"));
            Assert.Equal(flips % 2 == 0 ? "yes" : "no", problem.Answer);
        }
    }

    [Fact]
    public void TwoToSixDifferentPeopleTakePartAndBothAnswersAndAllWordingsOccur()
    {
        var task = new CoinFlipTask();
        var random = new Random(3);

        var problems = Enumerable.Range(0, 1000).Select(_ => task.Draw(random)).ToList();

        var people = problems.Select(p => Action().Matches(p.Question).Select(m => m.Groups["name"].Value).ToList()).ToList();
        Assert.All(people, names => Assert.Equal(names.Count, names.Distinct().Count()));
        Assert.Equal([2, 3, 4, 5, 6], people.Select(n => n.Count).Distinct().Order());
        Assert.All(people.SelectMany(n => n), name => Assert.Contains(name, PersonNames.All));
        Assert.InRange(problems.Count(p => p.Answer == "yes"), 400, 600);
        foreach (var wording in CoinFlipTask.FlipWordings.Concat(CoinFlipTask.KeepWordings))
            Assert.Contains(problems, p => p.Question.Contains(wording, StringComparison.Ordinal));
    }

    [Fact]
    public void TheTraceFollowsTheCoinPersonByPersonAndEndsInTheAnswersState()
    {
        var task = new CoinFlipTask();
        var random = new Random(11);

        for (int i = 0; i < 200; i++)
        {
            var problem = task.Draw(random);

            var steps = Step().Matches(problem.Trace).ToList();
            var names = Action().Matches(problem.Question).Select(m => m.Groups["name"].Value).ToList();
            Assert.StartsWith("It starts heads up. ", problem.Trace, StringComparison.Ordinal);
            Assert.Equal(names, steps.Select(s => s.Groups["name"].Value));
            bool heads = true;
            foreach (var step in steps)
            {
                if (step.Groups["what"].Value == "flips it") heads = !heads;
                Assert.Equal(heads ? "heads" : "tails", step.Groups["side"].Value);
            }
            Assert.Equal(heads ? "yes" : "no", problem.Answer);
        }
    }

    [Fact]
    public void TheQuestionReadsLikeThePapersTask()
    {
        var problem = new CoinFlipTask(2, 2).Draw(new Random(1));

        Assert.Matches(@"^A coin is heads up\. [A-Z][a-z]+ [a-z ]+\. [A-Z][a-z]+ [a-z ]+\. Is the coin still heads up\?$", problem.Question);
        Assert.Equal(CoinFlipTask.TaskName, problem.Task);
    }

    [Fact]
    public void TheSameSeedDrawsTheSameProblems()
    {
        var task = new CoinFlipTask();

        var first = Enumerable.Range(0, 20).Select(_ => task.Draw(new Random(5))).ToList();
        var again = new Random(5);
        var second = Enumerable.Range(0, 20).Select(_ => task.Draw(again)).ToList();

        Assert.All(first, p => Assert.Equal(first[0], p));
        Assert.Equal(first[0], second[0]);
        Assert.True(second.Distinct().Count() > 15);
    }

    [Theory]
    [InlineData("yes", "yes")]
    [InlineData(" No ", "no")]
    [InlineData("YES", "yes")]
    [InlineData("maybe", null)]
    [InlineData("", null)]
    [InlineData("yes no", null)]
    public void AnAnswerIsYesOrNo(string candidate, string? expected)
    {
        Assert.Equal(expected, new CoinFlipTask().NormalizeAnswer(candidate));
    }

    [GeneratedRegex(@"(?<name>[A-Z][a-z]+) (?<what>flips the coin|turns the coin over|does not flip the coin|leaves the coin alone)\.")]
    private static partial Regex Action();

    [GeneratedRegex(@"(?<name>[A-Z][a-z]+) (?<what>flips it|does not): (?<side>heads|tails) up\.")]
    private static partial Regex Step();
}
