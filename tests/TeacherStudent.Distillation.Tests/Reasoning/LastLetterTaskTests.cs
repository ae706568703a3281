using System.Text.RegularExpressions;
using TeacherStudent.Distillation.Reasoning;

namespace TeacherStudent.Distillation.Tests.Reasoning;

public sealed partial class LastLetterTaskTests
{
    [Fact]
    public void TheAnswerIsTheLastLettersOfTheNamesInTheQuestionInOrder()
    {
        var task = new LastLetterTask();
        var random = new Random(7);

        for (int i = 0; i < 500; i++)
        {
            var problem = task.Draw(random);

            // An independent reading: the names between "of" and the full stop, last characters lowered.
            var names = Question().Match(problem.Question).Groups["names"].Value.Split(", ");
            var expected = string.Concat(names.Select(n => n.Substring(n.Length - 1).ToLowerInvariant()));
            Assert.Equal(expected, problem.Answer);
        }
    }

    [Fact]
    public void AWorkedExample()
    {
        // Draw until a problem with these names comes up would be slow; the answer of a known question is checked instead.
        var problem = new LastLetterTask(3, 3).Draw(new Random(1));
        var names = Question().Match(problem.Question).Groups["names"].Value.Split(", ");

        Assert.Equal($"Join the last letters of {names[0]}, {names[1]}, {names[2]}.", problem.Question);
        Assert.Equal($"{names[0]} ends in {problem.Answer[0]}. {names[1]} ends in {problem.Answer[1]}. {names[2]} ends in {problem.Answer[2]}.", problem.Trace);
    }

    [Fact]
    public void TwoToFourDifferentNamesFromTheListAppear()
    {
        var task = new LastLetterTask();
        var random = new Random(3);

        var names = Enumerable.Range(0, 1000).Select(_ => Question().Match(task.Draw(random).Question).Groups["names"].Value.Split(", ")).ToList();

        Assert.Equal([2, 3, 4], names.Select(n => n.Length).Distinct().Order());
        Assert.All(names, n => Assert.Equal(n.Length, n.Distinct().Count()));
        Assert.All(names.SelectMany(n => n), name => Assert.Contains(name, PersonNames.All));
    }

    [Fact]
    public void TheTraceNamesEachLastLetterInTurn()
    {
        var task = new LastLetterTask();
        var random = new Random(11);

        for (int i = 0; i < 200; i++)
        {
            var problem = task.Draw(random);

            var steps = Step().Matches(problem.Trace).ToList();
            Assert.Equal(problem.Answer, string.Concat(steps.Select(s => s.Groups["letter"].Value)));
            Assert.All(steps, s => Assert.EndsWith(s.Groups["letter"].Value, s.Groups["name"].Value, StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public void TheNameListIsLargeAndSpreadOverLastLetters()
    {
        var names = PersonNames.All;

        Assert.True(names.Count >= 150);
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(names, n => Assert.Matches("^[A-Z][a-z]+$", n));
        var byLetter = names.GroupBy(n => n[^1]).ToList();
        Assert.True(byLetter.Count >= 20);
        Assert.True(byLetter.Max(g => g.Count()) <= names.Count / 10);
    }

    [Theory]
    [InlineData("nbl", "nbl")]
    [InlineData(" NBL ", "nbl")]
    [InlineData("n b l", null)]
    [InlineData("nb1", null)]
    [InlineData("", null)]
    public void AnAnswerIsAWordOfLetters(string candidate, string? expected)
    {
        Assert.Equal(expected, new LastLetterTask().NormalizeAnswer(candidate));
    }

    [GeneratedRegex(@"^Join the last letters of (?<names>[A-Za-z, ]+)\.$")]
    private static partial Regex Question();

    [GeneratedRegex(@"(?<name>[A-Z][a-z]+) ends in (?<letter>[a-z])\.")]
    private static partial Regex Step();
}
