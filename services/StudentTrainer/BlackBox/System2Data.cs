using System.Diagnostics;
using TeacherStudent.Distillation.Reasoning;
using TeacherStudent.StudentTrainer.Hosting;

namespace TeacherStudent.StudentTrainer.BlackBox;

/// <summary>
/// The <c>system2-data</c> command: writes the data of a System 2 -> System 1 run (the teacher
/// corpus, and per task the training questions to label and the held-out problems; see
/// <see cref="ReasoningDataFiles"/>) from one seed.
/// </summary>
public static class System2Data
{
    /// <summary>Problems of each task in the teacher corpus.</summary>
    public const int DefaultCorpusProblems = 20_000;

    /// <summary>Share of the corpus problems written as direct answers (the rest are traces).</summary>
    public const double DefaultDirectFraction = 0.05;

    /// <summary>Training questions of each task for the teacher's System 2 vote.</summary>
    public const int DefaultTrainQuestions = 6_000;

    /// <summary>Held-out problems of each task (500 keeps a 15-point gap well clear of sampling noise).</summary>
    public const int DefaultTestProblems = 500;

    public static int Write(string output, int seed, ReasoningDataSizes sizes)
    {
        var clock = Stopwatch.StartNew();
        ReasoningDataSet data;
        try
        {
            data = ReasoningDataSet.Create(ReasoningTasks.All, sizes, seed);
            ReasoningDataFiles.Write(data, output);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return TrainerHost.ExitUsage;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return TrainerHost.ExitFailure;
        }
        int direct = data.Corpus.Count(e => e.Contains("\nA: " + ReasoningPrompts.AnswerMarker, StringComparison.Ordinal));
        Console.WriteLine($"system2-data: {data.Corpus.Count} corpus entries ({data.Corpus.Count - direct} step by step, {direct} direct) in {ReasoningDataFiles.CorpusPath(output)}; " +
                          $"per task {sizes.TrainQuestions} training questions and {sizes.TestProblems} held-out problems " +
                          $"({string.Join(", ", ReasoningTasks.Names)}), seed {seed}, {clock.Elapsed.TotalSeconds:0.0}s");
        return 0;
    }
}
