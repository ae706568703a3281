using TeacherStudent.Distillation.Reasoning;

namespace TeacherStudent.Distillation.Tests.Reasoning;

public sealed class ReasoningPromptsTests
{
    private static readonly IReasoningTask Coin = new CoinFlipTask();
    private static readonly IReasoningTask Letters = new LastLetterTask();

    [Fact]
    public void TheTwoPromptsAskForADirectAnswerOrForReasoning()
    {
        Assert.Equal("Q: Is it?\nA: The answer is", ReasoningPrompts.System1Prompt("Is it?"));
        Assert.Equal("Q: Is it?\nA: Let's think step by step.", ReasoningPrompts.System2Prompt("Is it?"));
    }

    [Fact]
    public void AnEntryIsItsPromptFollowedByItsCompletion()
    {
        var problem = new ReasoningProblem(LastLetterTask.TaskName, "Join the last letters of Ann, Bob.", "nb", "Ann ends in n. Bob ends in b.");

        Assert.Equal("Q: Join the last letters of Ann, Bob.\nA: The answer is nb.", ReasoningPrompts.System1Entry(problem));
        Assert.Equal("Q: Join the last letters of Ann, Bob.\nA: Let's think step by step. Ann ends in n. Bob ends in b. So the answer is nb.",
            ReasoningPrompts.System2Entry(problem));
    }

    [Fact]
    public void EveryEntryOfEitherTaskReadsBackToItsAnswer()
    {
        var random = new Random(2);
        foreach (var task in new[] { Coin, Letters })
        {
            for (int i = 0; i < 200; i++)
            {
                var problem = task.Draw(random);

                var direct = ReasoningPrompts.System1Entry(problem)[ReasoningPrompts.System1Prompt(problem.Question).Length..];
                var reasoned = ReasoningPrompts.System2Entry(problem)[ReasoningPrompts.System2Prompt(problem.Question).Length..];

                Assert.Equal(problem.Answer, ReasoningPrompts.ExtractSystem1(task, direct));
                Assert.Equal(problem.Answer, ReasoningPrompts.ExtractSystem2(task, reasoned));
            }
        }
    }

    [Theory]
    [InlineData(" yes.", "yes")]
    [InlineData(" no", "no")]                          // ran out of tokens before the full stop
    [InlineData(" No.\nQ: another question", "no")]
    [InlineData(" yes\nQ:", "yes")]
    [InlineData(" tails.", null)]
    [InlineData("", null)]
    public void ADirectCoinAnswerIsTheTextBeforeTheFirstFullStopOrLineBreak(string generation, string? expected)
    {
        Assert.Equal(expected, ReasoningPrompts.ExtractSystem1(Coin, generation));
    }

    [Theory]
    [InlineData(" nbl.", "nbl")]
    [InlineData(" nb l.", null)]
    [InlineData(" n.b.", "n")]
    public void ADirectLastLetterAnswerIsOneWordOfLetters(string generation, string? expected)
    {
        Assert.Equal(expected, ReasoningPrompts.ExtractSystem1(Letters, generation));
    }

    [Theory]
    [InlineData(" It starts heads up. Ann flips it: tails up. So the answer is no.", "no")]
    [InlineData(" The answer is yes. Wait: so the answer is no.", "no")]   // the last answer counts
    [InlineData(" It starts heads up. Ann flips it: tails up.", null)]  // never reached an answer
    [InlineData(" So the answer is tails.", null)]
    [InlineData(" So THE ANSWER IS Yes.", "yes")]
    public void AReasonedAnswerFollowsTheLastAnswerMarker(string generation, string? expected)
    {
        Assert.Equal(expected, ReasoningPrompts.ExtractSystem2(Coin, generation));
    }
}
