using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TeacherStudent.Distillation.Reasoning;

/// <summary>
/// One question as it is put to a model: a line of a prompt file.
/// </summary>
/// <param name="Id">Unique in its file: <c>{task}-{train|test}-{index}</c>.</param>
/// <param name="Task">The task's name.</param>
/// <param name="Question">The question.</param>
/// <param name="System1Prompt">The direct-answer prompt (<see cref="ReasoningPrompts.System1Prompt"/>).</param>
/// <param name="System2Prompt">The step-by-step prompt (<see cref="ReasoningPrompts.System2Prompt"/>).</param>
/// <param name="Answer">The exact answer for held-out questions; absent for training questions, whose labels come from the teacher.</param>
public sealed record ReasoningPrompt(string Id, string Task, string Question, string System1Prompt, string System2Prompt, string? Answer = null)
{
    /// <summary>The record of <paramref name="problem"/>, with its answer or without.</summary>
    public static ReasoningPrompt Of(ReasoningProblem problem, string id, bool withAnswer) =>
        new(id, problem.Task, problem.Question, ReasoningPrompts.System1Prompt(problem.Question), ReasoningPrompts.System2Prompt(problem.Question),
            withAnswer ? problem.Answer : null);
}

/// <summary>
/// Prompt files in JSON Lines: one <see cref="ReasoningPrompt"/> per line, snake_case names
/// (<c>{"id": …, "task": …, "question": …, "system1_prompt": …, "system2_prompt": …, "answer": …}</c>),
/// <c>answer</c> left out where there is none.
/// </summary>
public static class ReasoningPromptFile
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,  // "Let's", not "Let\u0027s": the files are read by people too
    };

    /// <summary>Writes <paramref name="prompts"/>, one per line.</summary>
    public static void Write(string path, IEnumerable<ReasoningPrompt> prompts) =>
        File.WriteAllLines(path, prompts.Select(p => JsonSerializer.Serialize(p, Json)));

    /// <summary>The prompts in the file at <paramref name="path"/>; blank lines are skipped.</summary>
    /// <exception cref="InvalidDataException">A line is not a prompt record; the message names the line.</exception>
    public static List<ReasoningPrompt> Read(string path)
    {
        var prompts = new List<ReasoningPrompt>();
        int number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            ReasoningPrompt? prompt;
            try { prompt = JsonSerializer.Deserialize<ReasoningPrompt>(line, Json); }
            catch (JsonException e) { throw new InvalidDataException($"{path} line {number} is not a prompt record: {e.Message}", e); }
            if (prompt is null || prompt.Id is null || prompt.Task is null || prompt.Question is null || prompt.System1Prompt is null || prompt.System2Prompt is null)
                throw new InvalidDataException($"{path} line {number} lacks one of id, task, question, system1_prompt, system2_prompt.");
            prompts.Add(prompt);
        }
        return prompts;
    }
}
