using TeacherStudent.Distillation.Reasoning;
using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Tests.Reasoning;

public sealed class ReasoningDataFilesTests : IDisposable
{
    private readonly TemporaryDirectory directory = new();

    [Fact]
    public void TheCorpusReadsBackEntryForEntryAsTrainLmReadsIt()
    {
        var data = ReasoningDataSet.Create(ReasoningTasks.All, new ReasoningDataSizes(300, 0.2, 50, 40), seed: 1);

        ReasoningDataFiles.Write(data, directory.Path);
        var corpus = FortunesCorpus.LoadFile(ReasoningDataFiles.CorpusPath(directory.Path));

        Assert.Equal(data.Corpus, ReasoningDataFiles.ReadCorpus(directory.Path));
        Assert.Equal(data.Corpus.Order(StringComparer.Ordinal), corpus.Train.Concat(corpus.Validation).Concat(corpus.Test).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void EachTaskGetsItsTrainingQuestionsWithoutAnswersAndItsTestProblemsWithThem()
    {
        var data = ReasoningDataSet.Create(ReasoningTasks.All, new ReasoningDataSizes(100, 0.2, 50, 40), seed: 2);

        ReasoningDataFiles.Write(data, directory.Path);

        foreach (var task in ReasoningTasks.Names)
        {
            var train = ReasoningPromptFile.Read(ReasoningDataFiles.TrainPromptsPath(directory.Path, task));
            var test = ReasoningPromptFile.Read(ReasoningDataFiles.TestPath(directory.Path, task));
            Assert.Equal(data.TrainQuestions[task].Select(p => p.Question), train.Select(p => p.Question));
            Assert.All(train, p => Assert.Null(p.Answer));
            Assert.Equal(data.Test[task].Select(p => p.Answer), test.Select(p => p.Answer));
            Assert.Equal($"{task}-test-000000", test[0].Id);
            Assert.Equal(test.Count, test.Select(p => p.Id).Distinct().Count());
            Assert.All(test, p => Assert.Equal(ReasoningPrompts.System2Prompt(p.Question), p.System2Prompt));
        }
    }

    public void Dispose() => directory.Dispose();
}
