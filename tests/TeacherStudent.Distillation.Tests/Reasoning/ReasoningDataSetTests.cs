using TeacherStudent.Distillation.Reasoning;

namespace TeacherStudent.Distillation.Tests.Reasoning;

public sealed class ReasoningDataSetTests
{
    private static readonly ReasoningDataSizes Sizes = new(CorpusProblems: 800, DirectFraction: 0.1, TrainQuestions: 300, TestProblems: 200);

    [Fact]
    public void NoTestQuestionIsInTheCorpusOrAmongTheTrainingQuestions()
    {
        var data = ReasoningDataSet.Create(ReasoningTasks.All, Sizes, seed: 1);

        var corpusQuestions = data.Corpus.Select(e => e[3..e.IndexOf('\n')]).ToHashSet();
        foreach (var task in ReasoningTasks.Names)
        {
            var test = data.Test[task];
            var train = data.TrainQuestions[task];
            Assert.Equal(200, test.Count);
            Assert.Equal(300, train.Count);
            Assert.All(test, p => Assert.True(ProblemSplit.IsHeldOut(p)));
            Assert.All(train, p => Assert.False(ProblemSplit.IsHeldOut(p)));
            Assert.Empty(test.Select(p => p.Question).Intersect(corpusQuestions));
            Assert.Empty(train.Select(p => p.Question).Intersect(corpusQuestions));
            Assert.Empty(test.Select(p => p.Question).Intersect(train.Select(p => p.Question)));
        }
        Assert.Equal(1600, corpusQuestions.Count);
    }

    [Fact]
    public void HeldOutAnswersAreRightByAnIndependentReading()
    {
        var data = ReasoningDataSet.Create(ReasoningTasks.All, Sizes, seed: 2);

        foreach (var task in ReasoningTasks.All)
            Assert.All(data.Test[task.Name], p => Assert.Equal(TeacherCorpusTests.IndependentAnswer(task, p.Question), p.Answer));
    }

    [Fact]
    public void TheSameSeedGivesTheSameSetsAndAnotherSeedOthers()
    {
        var first = ReasoningDataSet.Create(ReasoningTasks.All, Sizes, seed: 3);
        var again = ReasoningDataSet.Create(ReasoningTasks.All, Sizes, seed: 3);
        var other = ReasoningDataSet.Create(ReasoningTasks.All, Sizes, seed: 4);

        Assert.Equal(first.Corpus, again.Corpus);
        Assert.Equal(first.Test["coin_flip"], again.Test["coin_flip"]);
        Assert.Equal(first.TrainQuestions["last_letter"], again.TrainQuestions["last_letter"]);
        Assert.NotEqual(first.Corpus, other.Corpus);
    }

    [Theory]
    [InlineData(0, 0.1, 1, 1)]
    [InlineData(1, -0.1, 1, 1)]
    [InlineData(1, 1.5, 1, 1)]
    [InlineData(1, 0.1, -1, 1)]
    [InlineData(1, 0.1, 1, 0)]
    public void SizesOutOfRangeAreRefused(int corpus, double direct, int train, int test)
    {
        Assert.Throws<ArgumentException>(() => new ReasoningDataSizes(corpus, direct, train, test).Validate());
    }

    [Fact]
    public void TasksAreFoundByNameAndAnUnknownNameListsTheKnownOnes()
    {
        Assert.IsType<CoinFlipTask>(ReasoningTasks.Create("coin_flip"));
        Assert.IsType<LastLetterTask>(ReasoningTasks.Create("last_letter"));

        var error = Assert.Throws<ArgumentException>(() => ReasoningTasks.Create("arithmetic"));

        Assert.Contains("coin_flip, last_letter", error.Message);
    }
}
