namespace TeacherStudent.Distillation.Reasoning;

/// <summary>The reasoning tasks by name.</summary>
public static class ReasoningTasks
{
    /// <summary>Names of the tasks there are, in report order.</summary>
    public static IReadOnlyList<string> Names { get; } = [CoinFlipTask.TaskName, LastLetterTask.TaskName];

    /// <summary>Every task with its default sizes, in report order.</summary>
    public static IReadOnlyList<IReasoningTask> All { get; } = [new CoinFlipTask(), new LastLetterTask()];

    /// <summary>The task called <paramref name="name"/> with its default sizes, or an <see cref="ArgumentException"/> that lists the known names.</summary>
    public static IReasoningTask Create(string name) =>
        All.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"unknown reasoning task '{name}'; known: {string.Join(", ", Names)}.");
}
