using TeacherStudent.StudentTrainer.BlackBox;

namespace TeacherStudent.StudentTrainer.Tests.BlackBox;

public sealed class AnswerVoteTests
{
    private const string Pattern = @"answer is (\w+)";

    [Theory]
    [InlineData("So the answer is yes.", "yes")]
    [InlineData("the answer is no. the answer is yes.", "no")]
    [InlineData("I do not know.", null)]
    public void TheFirstMatchsGroupIsTheAnswer(string text, string? answer)
    {
        Assert.Equal(answer, new AnswerVote(Pattern).Extract(text));
    }

    [Fact]
    public void TheMostCommonAnswerWinsWithItsShareOfAllSamples()
    {
        var (answer, share) = new AnswerVote(Pattern).Decide(["answer is yes", "answer is no", "answer is yes", "gibberish", "answer is yes"]);

        Assert.Equal(("yes", 0.6), (answer, share));
    }

    [Fact]
    public void ATieOrAShareBelowTheAgreementGivesNoAnswer()
    {
        Assert.Null(new AnswerVote(Pattern).Decide(["answer is yes", "answer is no"]).Answer);
        Assert.Null(new AnswerVote(Pattern, agreement: 0.75).Decide(["answer is yes", "answer is yes", "answer is no", "answer is yes", "x"]).Answer);
        Assert.Equal("yes", new AnswerVote(Pattern, agreement: 0.75).Decide(["answer is yes", "answer is yes", "answer is no", "answer is yes"]).Answer);
        Assert.Null(new AnswerVote(Pattern).Decide(["nothing", "here"]).Answer);
    }

    [Theory]
    [InlineData("answer is \\w+")]
    [InlineData("answer is (")]
    public void APatternWithoutAGroupOrThatIsNoRegularExpressionIsRefused(string pattern)
    {
        var error = Assert.Throws<ArgumentException>(() => new AnswerVote(pattern));

        Assert.Contains(pattern, error.Message);
    }
}
