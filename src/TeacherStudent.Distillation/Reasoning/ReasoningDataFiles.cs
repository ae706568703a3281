using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Reasoning;

/// <summary>
/// A <see cref="ReasoningDataSet"/> on disk, for the programs of a System 2 -> System 1 run:
/// <list type="bullet">
/// <item><c>teacher-corpus.txt</c>: the teacher's entries in the fortune format (entries separated by
/// lines holding only <c>%</c>), which <c>train-lm --corpus-file</c> reads;</item>
/// <item><c>{task}/train-prompts.jsonl</c>: the training questions to label, without answers;</item>
/// <item><c>{task}/test.jsonl</c>: the held-out problems, with answers
/// (both in <see cref="ReasoningPromptFile"/>'s format).</item>
/// </list>
/// </summary>
public static class ReasoningDataFiles
{
    /// <summary>The teacher corpus's file name.</summary>
    public const string CorpusFileName = "teacher-corpus.txt";

    /// <summary>Each task's training-question file name.</summary>
    public const string TrainPromptsFileName = "train-prompts.jsonl";

    /// <summary>Each task's held-out file name.</summary>
    public const string TestFileName = "test.jsonl";

    /// <summary>Where the teacher corpus of the data in <paramref name="directory"/> is.</summary>
    public static string CorpusPath(string directory) => Path.Combine(directory, CorpusFileName);

    /// <summary>Where the training questions of <paramref name="task"/> are.</summary>
    public static string TrainPromptsPath(string directory, string task) => Path.Combine(directory, task, TrainPromptsFileName);

    /// <summary>Where the held-out problems of <paramref name="task"/> are.</summary>
    public static string TestPath(string directory, string task) => Path.Combine(directory, task, TestFileName);

    /// <summary>Writes <paramref name="data"/> into <paramref name="directory"/> (created when missing; files there are replaced).</summary>
    public static void Write(ReasoningDataSet data, string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var entry in data.Corpus)
        {
            // The fortune format cannot hold an entry with a line of just "%"; generated entries never have one.
            if (entry.Split('\n').Any(line => line.TrimEnd() == "%")) throw new ArgumentException($"an entry holds a line of only '%': {entry}");
        }
        File.WriteAllText(CorpusPath(directory), string.Join("\n%\n", data.Corpus) + "\n");
        foreach (var (task, problems) in data.TrainQuestions)
        {
            Directory.CreateDirectory(Path.Combine(directory, task));
            ReasoningPromptFile.Write(TrainPromptsPath(directory, task), problems.Select((p, i) => ReasoningPrompt.Of(p, $"{task}-train-{i:D6}", withAnswer: false)));
        }
        foreach (var (task, problems) in data.Test)
        {
            Directory.CreateDirectory(Path.Combine(directory, task));
            ReasoningPromptFile.Write(TestPath(directory, task), problems.Select((p, i) => ReasoningPrompt.Of(p, $"{task}-test-{i:D6}", withAnswer: true)));
        }
    }

    /// <summary>The teacher corpus's entries as <c>train-lm</c> reads them.</summary>
    public static IReadOnlyList<string> ReadCorpus(string directory) => FortuneFile.ReadEntries(CorpusPath(directory));
}
