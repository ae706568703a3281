using System.Text.Json;
using TeacherStudent.StudentTrainer.BlackBox;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.Language;

namespace TeacherStudent.StudentTrainer.Tests.BlackBox;

public sealed class System2SummaryTests : IDisposable
{
    private readonly TemporaryDirectory directory = new("system2-summary-tests");

    public void Dispose() => directory.Dispose();

    private void Evaluation(string task, string role, double accuracy, double tokens, int samples) =>
        File.WriteAllText(Path.Combine(directory.Path, $"{task}.{role}.json"), JsonSerializer.Serialize(
            new AnswerEvaluationReport(role, "reasoner", "v1", 500, samples, accuracy, 0.99, tokens, 0, 1.5, []), LanguageRunOutputs.Json));

    [Fact]
    public void TheReportHoldsEveryTasksThreeAnswerersAndWhetherEachGoalIsMet()
    {
        Evaluation("coin_flip", System2Summary.TeacherSystem1, 0.56, 2, 1);
        Evaluation("coin_flip", System2Summary.TeacherSystem2, 0.95, 200, 5);
        Evaluation("coin_flip", System2Summary.StudentSystem1, 0.93, 2, 1);
        Evaluation("last_letter", System2Summary.TeacherSystem1, 0.40, 3, 1);
        Evaluation("last_letter", System2Summary.TeacherSystem2, 0.90, 10, 5);
        Evaluation("last_letter", System2Summary.StudentSystem1, 0.50, 3, 1);
        var output = directory.File("report.json");

        int exit = System2Summary.Write(directory.Path, ["coin_flip", "last_letter"], output, 12.5);

        Assert.Equal(0, exit);
        var tasks = JsonDocument.Parse(File.ReadAllText(output)).RootElement.GetProperty("tasks").EnumerateArray().ToArray();
        Assert.Equal(["coin_flip", "last_letter"], tasks.Select(t => t.GetProperty("task").GetString()));
        var coin = tasks[0];
        Assert.Equal(0.93, coin.GetProperty("student_system1").GetProperty("accuracy").GetDouble());
        Assert.Equal(200, coin.GetProperty("teacher_system2").GetProperty("tokens_per_answer").GetDouble());
        Assert.Equal(0.56, coin.GetProperty("teacher_system1").GetProperty("accuracy").GetDouble());
        Assert.True(coin.GetProperty("beats_system1").GetBoolean() && coin.GetProperty("near_system2").GetBoolean() && coin.GetProperty("fewer_tokens").GetBoolean());
        // 0.50 is only 10 points above 0.40, 40 below 0.90, and 3 tokens is not 5x fewer than 10.
        var letters = tasks[1];
        Assert.False(letters.GetProperty("beats_system1").GetBoolean() || letters.GetProperty("near_system2").GetBoolean() || letters.GetProperty("fewer_tokens").GetBoolean());
    }

    [Fact]
    public void AMissingEvaluationIsOneClearLineAndAUsageExit()
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(TrainerHost.ExitUsage, System2Summary.Write(directory.Path, ["coin_flip"], directory.File("r.json"), null));
        }
        finally
        {
            Console.SetError(previous);
        }
        Assert.StartsWith("error: ", error.ToString());
        Assert.Contains("coin_flip.teacher_system1.json does not exist", error.ToString());
    }
}
