using TeacherStudent.Distillation.Reasoning;

namespace TeacherStudent.Distillation.Tests.Reasoning;

public sealed class ReasoningPromptFileTests : IDisposable
{
    private readonly TemporaryDirectory directory = new();

    [Fact]
    public void PromptsRoundTripAndAMissingAnswerStaysMissing()
    {
        var problem = new ReasoningProblem("last_letter", "Join the last letters of Ann, Bob.", "nb", "Ann ends in n. Bob ends in b.");
        ReasoningPrompt[] prompts = [ReasoningPrompt.Of(problem, "last_letter-test-0", withAnswer: true), ReasoningPrompt.Of(problem, "last_letter-train-0", withAnswer: false)];
        var path = directory.File("prompts.jsonl");

        ReasoningPromptFile.Write(path, prompts);
        var read = ReasoningPromptFile.Read(path);

        Assert.Equal(prompts, read);
        Assert.Equal("nb", read[0].Answer);
        Assert.Null(read[1].Answer);
    }

    [Fact]
    public void EachLineIsOneSnakeCaseJsonObject()
    {
        var problem = new ReasoningProblem("coin_flip", "A coin is heads up. Ann flips the coin. Is the coin still heads up?", "no", "");
        var path = directory.File("test.jsonl");

        ReasoningPromptFile.Write(path, [ReasoningPrompt.Of(problem, "coin_flip-test-7", withAnswer: true), ReasoningPrompt.Of(problem, "coin_flip-train-7", withAnswer: false)]);
        var lines = File.ReadAllLines(path);

        Assert.Equal(2, lines.Length);
        Assert.Equal(
            "{\"id\":\"coin_flip-test-7\",\"task\":\"coin_flip\",\"question\":\"A coin is heads up. Ann flips the coin. Is the coin still heads up?\"," +
            "\"system1_prompt\":\"Q: A coin is heads up. Ann flips the coin. Is the coin still heads up?\\nA: The answer is\"," +
            "\"system2_prompt\":\"Q: A coin is heads up. Ann flips the coin. Is the coin still heads up?\\nA: Let's think step by step.\",\"answer\":\"no\"}",
            lines[0]);
        Assert.DoesNotContain("answer\":", lines[1].Replace("_prompt", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void ALineThatIsNotARecordIsNamed()
    {
        var path = directory.File("bad.jsonl");
        File.WriteAllLines(path, ["", "{\"id\":\"a\"}"]);

        var error = Assert.Throws<InvalidDataException>(() => ReasoningPromptFile.Read(path));

        Assert.Contains("line 2", error.Message);
    }

    public void Dispose() => directory.Dispose();
}
