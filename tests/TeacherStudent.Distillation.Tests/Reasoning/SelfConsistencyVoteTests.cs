using TeacherStudent.Distillation.Reasoning;

namespace TeacherStudent.Distillation.Tests.Reasoning;

public sealed class SelfConsistencyVoteTests
{
    [Fact]
    public void TheAnswerMostSamplesGaveWins()
    {
        var vote = SelfConsistencyVote.Of(["no", "yes", "no", null, "no"], clarity: 0.5);

        Assert.Equal(new Vote("no", 3, 5, true), vote);
        Assert.Equal(0.6, vote.Share, 12);
    }

    [Fact]
    public void ATieForTheMostVotesHasNoAnswer()
    {
        var vote = SelfConsistencyVote.Of(["ab", "cd", "cd", "ab", "ef"], clarity: 0.2);

        Assert.Null(vote.Answer);
        Assert.Equal(2, vote.Votes);
        Assert.False(vote.IsClear);
    }

    [Fact]
    public void SamplesWithoutAnAnswerCountAgainstClarity()
    {
        // 3 of 3 readable samples agree, but only 3 of 5 samples in all.
        var vote = SelfConsistencyVote.Of(["yes", null, "yes", null, "yes"], clarity: 0.8);

        Assert.Equal("yes", vote.Answer);
        Assert.False(vote.IsClear);
    }

    [Theory]
    [InlineData(7, 10, 0.7, true)]   // exactly at the threshold (0.7 * 10 is 7.000000000000001 in doubles)
    [InlineData(6, 10, 0.7, false)]
    [InlineData(3, 5, 0.6, true)]
    [InlineData(5, 5, 1.0, true)]
    [InlineData(4, 5, 1.0, false)]
    [InlineData(3, 5, 0.5, true)]
    [InlineData(2, 4, 0.5, true)]    // a plurality of two over two other answers
    public void AVoteIsClearWhenTheWinnersShareReachesTheThreshold(int votes, int samples, double clarity, bool clear)
    {
        // The winner gets `votes`; every other sample gives an answer of its own.
        var answers = Enumerable.Repeat<string?>("a", votes).Concat(Enumerable.Range(0, samples - votes).Select(i => (string?)$"other{i}")).ToList();

        var vote = SelfConsistencyVote.Of(answers, clarity);

        Assert.Equal("a", vote.Answer);
        Assert.Equal(clear, vote.IsClear);
    }

    [Fact]
    public void NoReadableSampleMeansNoAnswer()
    {
        Assert.Equal(new Vote(null, 0, 3, false), SelfConsistencyVote.Of([null, null, null], clarity: 0.5));
        Assert.Equal(new Vote(null, 0, 0, false), SelfConsistencyVote.Of([], clarity: 0.5));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void AThresholdOutsideZeroToOneIsRefused(double clarity)
    {
        Assert.Throws<ArgumentException>(() => SelfConsistencyVote.Of(["a"], clarity));
    }
}
