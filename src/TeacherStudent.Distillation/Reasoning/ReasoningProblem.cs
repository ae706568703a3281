namespace TeacherStudent.Distillation.Reasoning;

/// <summary>
/// One generated problem with an exact answer: the question, the answer, and the step-by-step
/// reasoning that reaches it (without the closing "So the answer is ..." that
/// <see cref="ReasoningPrompts"/> adds).
/// </summary>
/// <param name="Task">Name of the task that made it (<see cref="IReasoningTask.Name"/>).</param>
/// <param name="Question">The question as asked, one line.</param>
/// <param name="Answer">The exact answer in its normal form (<see cref="IReasoningTask.NormalizeAnswer"/>).</param>
/// <param name="Trace">The reasoning written out, one short sentence per step.</param>
public sealed record ReasoningProblem(string Task, string Question, string Answer, string Trace);

/// <summary>
/// A kind of problem the project generates with exact answers, for distilling step-by-step
/// reasoning (System 2) into direct answers (System 1).
/// </summary>
public interface IReasoningTask
{
    /// <summary>The task's name in files and reports, e.g. <c>coin_flip</c>.</summary>
    string Name { get; }

    /// <summary>A new problem, everything about it drawn from <paramref name="random"/>.</summary>
    ReasoningProblem Draw(Random random);

    /// <summary>
    /// <paramref name="candidate"/> as an answer of this task in normal form (trimmed, lower case),
    /// or null when it cannot be one (a coin-flip answer is yes or no; a last-letter answer is letters).
    /// </summary>
    string? NormalizeAnswer(string candidate);
}
