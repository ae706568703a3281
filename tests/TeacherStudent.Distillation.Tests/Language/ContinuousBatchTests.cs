using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.Distillation.Tests.Training;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Language;

/// <summary>
/// Continuous batching: rows that join a running batch at any step, or leave it, write what each writes
/// alone; samples of one prompt read it once and draw what they draw when each reads it; the cache's size
/// is what the batch says it will be. The random models are seeded, so these run in the global-randomness collection.
/// </summary>
[Collection(TorchGlobalRandomness.Name)]
public sealed class ContinuousBatchTests
{
    private static readonly LlamaConfig Spec = LlamaConfig.Small(300, 40, layers: 2, width: 32, heads: 4, keyValueHeads: 2);
    private static readonly int[] EndOfText = [BpeTokenizer.EndOfTextId];

    private static Llama NewModel(long seed)
    {
        random.manual_seed(seed);
        var model = new Llama(Spec).InitialiseRandomly(0.2);
        model.eval();
        return model;
    }

    private static int[] Prompt(int length, int seed)
    {
        var random = new Random(seed);
        return [BpeTokenizer.EndOfTextId, .. Enumerable.Range(0, length - 1).Select(_ => random.Next(0, 256))];
    }

    // The reference reads the whole sequence again for every token, without a cache.
    private static int[] Alone(Llama model, int[] prompt, int maxNewTokens)
    {
        var tokens = TokenSampler.Generate(model, Spec.VocabularySize, EndOfText, prompt, new SamplingSettings(0, 1, maxNewTokens));
        return tokens.Length > 0 && tokens[^1] == BpeTokenizer.EndOfTextId ? tokens[..^1] : tokens;
    }

    // Steps the batch, letting each row of `joining` in at its step (and, when asked, one row out); until every row is done.
    private static void Run(ContinuousBatch batch, IReadOnlyList<(int Step, BatchRow Row)> joining, (int Step, BatchRow Row)? leaving = null)
    {
        for (int step = 0; batch.Count > 0 || joining.Any(j => j.Step >= step); step++)
        {
            var now = joining.Where(j => j.Step == step).Select(j => j.Row).ToArray();
            if (now.Length > 0)
            {
                long predicted = batch.AllocationAfterAdmitting(now.Select(r => r.Row));
                batch.Admit(now);
                Assert.Equal(predicted, batch.AllocatedTokens);
            }
            if (leaving is { } l && l.Step == step) batch.Remove([l.Row]);
            if (batch.Count == 0) continue;
            batch.Draw();
            batch.Forward();
        }
    }

    [Fact]
    public void GreedyRowsJoiningAtDifferentStepsWriteWhatEachWritesAlone()
    {
        // Arrange: prompts of 3 to 17 tokens joining at steps 0, 0, 2, 5, 5 and 9; the one of 17 joins when the running
        // rows hold fewer columns, so that they are padded on the left in turn.
        using var model = NewModel(11);
        var plan = new (int Step, int[] Prompt, int MaxNew)[]
        {
            (0, Prompt(5, 1), 12), (0, Prompt(3, 2), 20), (2, Prompt(17, 3), 10), (5, Prompt(4, 4), 8), (5, Prompt(9, 5), 15), (9, Prompt(6, 6), 6),
        };
        var rows = plan.Select(p => (p.Step, new BatchRow(new GenerationRow(p.Prompt, 0, 1, p.MaxNew, 0)))).ToArray();
        using var batch = new ContinuousBatch(model, Spec.VocabularySize, EndOfText);

        // Act
        Run(batch, rows);

        // Assert
        for (int i = 0; i < plan.Length; i++)
            Assert.Equal(Alone(model, plan[i].Prompt, plan[i].MaxNew), rows[i].Item2.Result!.Tokens);
        Assert.Equal(0, batch.AllocatedTokens);
    }

    [Fact]
    public void ARowThatLeavesStopsAndTheOthersWriteWhatTheyWriteAlone()
    {
        using var model = NewModel(12);
        var prompts = new[] { Prompt(6, 1), Prompt(10, 2), Prompt(4, 3) };
        var rows = prompts.Select((p, i) => (i, new BatchRow(new GenerationRow(p, 0, 1, 14, 0)))).ToArray();
        using var batch = new ContinuousBatch(model, Spec.VocabularySize, EndOfText);

        Run(batch, rows, leaving: (4, rows[1].Item2));

        Assert.Null(rows[1].Item2.Result);
        Assert.Equal(Alone(model, prompts[0], 14), rows[0].Item2.Result!.Tokens);
        Assert.Equal(Alone(model, prompts[2], 14), rows[2].Item2.Result!.Tokens);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SamplesOfOnePromptDrawTheSameTokensWhetherTheyShareItsReadingOrNot(bool share)
    {
        // Arrange: four sampled rows of one prompt (seeds 1..4) and one of another, joining together.
        using var model = NewModel(13);
        var prompt = Prompt(9, 7);
        GenerationRow Row(int[] p, ulong seed) => new(p, 1.3, 0.95, 10, seed);
        var rows = new[] { Row(prompt, 1), Row(prompt, 2), Row(Prompt(5, 8), 9), Row(prompt, 3), Row(prompt, 4) };
        using var batch = new ContinuousBatch(model, Spec.VocabularySize, EndOfText, sharePrompts: share);
        var batched = rows.Select(r => new BatchRow(r)).ToArray();

        // Act
        Run(batch, batched.Select(r => (0, r)).ToArray());

        // Assert: each writes what it writes when it is the only row, and the prompt is read once when shared.
        for (int i = 0; i < rows.Length; i++)
            Assert.Equal(BatchGenerator.Generate(model, Spec.VocabularySize, EndOfText, [rows[i]])[0].Tokens, batched[i].Result!.Tokens);
        Assert.Equal(4, batched.Where(r => r.Row.Prompt == prompt).Select(r => string.Join(",", r.Result!.Tokens)).Distinct().Count());
        Assert.Equal(share ? 9 + 5 : 4 * 9 + 5, batch.PromptTokensRead);
    }

    [Fact]
    public void ARowReservesItsPromptAndNewTokensClippedAtTheContext()
    {
        Assert.Equal(5 + 12, ContinuousBatch.Reservation(new GenerationRow(Prompt(5, 1), 0, 1, 12, 0), 40));
        Assert.Equal(40, ContinuousBatch.Reservation(new GenerationRow(Prompt(30, 1), 0, 1, 500, 0), 40));
        Assert.Equal(39 + 1, ContinuousBatch.Reservation(new GenerationRow(Prompt(60, 1), 0, 1, 500, 0), 40));
    }
}
