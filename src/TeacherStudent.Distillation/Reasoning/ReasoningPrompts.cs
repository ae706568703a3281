namespace TeacherStudent.Distillation.Reasoning;

/// <summary>
/// How a question is put to a language model and how its answer is read back. Two ways of asking:
/// <list type="bullet">
/// <item>System 1, a direct answer: <c>Q: {question}\nA: The answer is</c>, continued with <c> {answer}.</c></item>
/// <item>System 2, step by step: <c>Q: {question}\nA: Let's think step by step.</c>, continued with
/// <c> {trace} So the answer is {answer}.</c></item>
/// </list>
/// The training entries are these prompts with their continuations, so a model trained on them
/// continues either prompt in its own form and then ends the entry (end-of-text). A model reads a
/// prompt as the start of a new entry: after <c>EndOfText</c>, as entries follow each other in training.
/// </summary>
public static class ReasoningPrompts
{
    /// <summary>What the System 2 prompt adds after the answer marker.</summary>
    public const string StepByStep = "Let's think step by step.";

    /// <summary>What precedes an answer in both forms (case aside: "So the answer is" ends a trace).</summary>
    public const string AnswerMarker = "The answer is";

    /// <summary>The System 1 prompt: the model's next words are the answer.</summary>
    public static string System1Prompt(string question) => $"Q: {question}\nA: {AnswerMarker}";

    /// <summary>The System 2 prompt: the model reasons before it answers.</summary>
    public static string System2Prompt(string question) => $"Q: {question}\nA: {StepByStep}";

    /// <summary>The System 1 training entry of <paramref name="problem"/>: prompt and direct answer.</summary>
    public static string System1Entry(ReasoningProblem problem) => System1Prompt(problem.Question) + System1Completion(problem.Answer);

    /// <summary>The System 2 training entry of <paramref name="problem"/>: prompt, reasoning and answer.</summary>
    public static string System2Entry(ReasoningProblem problem) => System2Prompt(problem.Question) + System2Completion(problem.Trace, problem.Answer);

    /// <summary>What follows the System 1 prompt: <c> {answer}.</c></summary>
    public static string System1Completion(string answer) => $" {answer}.";

    /// <summary>What follows the System 2 prompt: <c> {trace} So the answer is {answer}.</c></summary>
    public static string System2Completion(string trace, string answer) => $" {trace} So the answer is {answer}.";

    /// <summary>
    /// The answer in a continuation of the System 1 prompt: the text up to the first full stop or
    /// line break (all of it when there is neither), in the task's normal form; null when that is no answer.
    /// </summary>
    public static string? ExtractSystem1(IReasoningTask task, string generation)
    {
        int end = generation.IndexOfAny(['.', '\n']);
        return task.NormalizeAnswer(end < 0 ? generation : generation[..end]);
    }

    /// <summary>
    /// The answer in a continuation of the System 2 prompt: what follows the last "the answer is"
    /// (any case), read as <see cref="ExtractSystem1"/> reads a direct answer; null when the
    /// reasoning never reaches an answer or ends in something that is not one.
    /// </summary>
    public static string? ExtractSystem2(IReasoningTask task, string generation)
    {
        int at = generation.LastIndexOf(AnswerMarker, StringComparison.OrdinalIgnoreCase);
        return at < 0 ? null : ExtractSystem1(task, generation[(at + AnswerMarker.Length)..]);
    }
}
