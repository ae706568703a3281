using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.Distillation.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Language;

/// <summary>
/// Batched generation with a key-value cache: the same tokens as reading the whole sequence again
/// for every token, whatever the rows are batched with, and draws as the row's settings say.
/// The random models are seeded, so these run in the global-randomness collection.
/// </summary>
[Collection(TorchGlobalRandomness.Name)]
public sealed class BatchGeneratorTests
{
    // The end-of-text id is 256, so the vocabulary must hold it; weights of std 0.2 give logits peaked enough to tell tokens
    // apart; 4 query heads share 2 key/value heads, so the cache holds the shared ones.
    private static readonly LlamaConfig Spec = LlamaConfig.Small(300, 24, layers: 2, width: 32, heads: 4, keyValueHeads: 2);

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

    [Fact]
    public void TheCachedLogitsOfAnUnpaddedBatchAreThoseOfTheWholeForward()
    {
        using var model = NewModel(1);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = tensor(Prompt(9, 1).Concat(Prompt(9, 2)).Select(t => (long)t).ToArray(), [2, 9]);
        var positions = arange(9L).unsqueeze(0).expand(2, 9);
        using var cache = model.NewCache(2, 12);

        // The first six tokens at once, then three one at a time.
        var mask = ones([6, 6], ScalarType.Bool).tril().expand(2, 1, 6, 6);
        var cached = model.NextTokenLogits(tokens.narrow(1, 0, 6), positions.narrow(1, 0, 6), cache, mask);
        Assert.True(cached.allclose(model.forward(tokens.narrow(1, 0, 6)).select(1, -1), rtol: 1e-4, atol: 1e-5));
        for (int t = 6; t < 9; t++)
        {
            cached = model.NextTokenLogits(tokens.narrow(1, t, 1), positions.narrow(1, t, 1), cache, ones([2, 1, 1, t + 1], ScalarType.Bool));
            Assert.True(cached.allclose(model.forward(tokens.narrow(1, 0, t + 1)).select(1, -1), rtol: 1e-4, atol: 1e-5));
        }
        Assert.Equal(9, cache.Length);
    }

    [Fact]
    public void GreedyRowsOfDifferentLengthsWriteWhatTheModelWritesForEachAlone()
    {
        using var model = NewModel(2);
        var prompts = new[] { Prompt(3, 3), Prompt(11, 4), Prompt(1, 5), Prompt(7, 6) };
        var rows = prompts.Select(p => new GenerationRow(p, 0, 1, MaxNewTokens: 10, Seed: 0)).ToArray();

        var batched = BatchGenerator.Generate(model, Spec.VocabularySize, [BpeTokenizer.EndOfTextId], rows);

        for (int i = 0; i < prompts.Length; i++)
        {
            // The reference reads the whole sequence again for every token, without a cache.
            var alone = TokenSampler.Generate(model, Spec.VocabularySize, [BpeTokenizer.EndOfTextId], prompts[i], new SamplingSettings(0, 1, 10));
            int[] expected = alone.Length > 0 && alone[^1] == BpeTokenizer.EndOfTextId ? alone[..^1] : alone;
            Assert.Equal(expected, batched[i].Tokens);
            Assert.Equal(prompts[i].Length, batched[i].PromptTokens);
        }
    }

    [Fact]
    public void ASampledRowWritesTheSameTokensWhateverItIsBatchedWith()
    {
        using var model = NewModel(3);
        var row = new GenerationRow(Prompt(5, 7), Temperature: 1.5, TopP: 0.9, MaxNewTokens: 12, Seed: 42);
        var others = Enumerable.Range(0, 5).Select(i => new GenerationRow(Prompt(2 + 3 * i, 10 + i), 1, 1, 6 + i, (ulong)i)).ToList();

        var alone = BatchGenerator.Generate(model, Spec.VocabularySize, [BpeTokenizer.EndOfTextId], [row])[0];
        var batched = BatchGenerator.Generate(model, Spec.VocabularySize, [BpeTokenizer.EndOfTextId], [.. others.Take(3), row, .. others.Skip(3)])[3];
        var otherSeed = BatchGenerator.Generate(model, Spec.VocabularySize, [BpeTokenizer.EndOfTextId], [row with { Seed = 43 }])[0];

        Assert.Equal(alone.Tokens, batched.Tokens);
        Assert.NotEqual(alone.Tokens, otherSeed.Tokens);
    }

    [Fact]
    public void SamplesOfOnePromptReadItOnceAndEachWritesWhatItWritesAlone()
    {
        // Arrange: three samples of one prompt (seeds 1, 3, 4) and a row of another, read through a model that counts what it reads.
        using var model = NewModel(4);
        using var counting = new CountingModel(model);
        var prompt = Prompt(9, 8);
        var rows = new[]
        {
            new GenerationRow(prompt, 1.5, 1, MaxNewTokens: 8, Seed: 1),
            new GenerationRow(Prompt(4, 9), 1.5, 1, MaxNewTokens: 8, Seed: 2),
            new GenerationRow(prompt, 1.5, 1, MaxNewTokens: 8, Seed: 3),
            new GenerationRow(prompt, 1.5, 1, MaxNewTokens: 8, Seed: 4),
        };

        // Act
        var batched = BatchGenerator.Generate(counting, Spec.VocabularySize, [BpeTokenizer.EndOfTextId], rows);

        // Assert: the first read holds the two distinct prompts (padded to 9), not four; every row writes what it writes alone.
        Assert.Equal([2L, 9L], counting.Reads[0]);
        Assert.All(counting.Reads.Skip(1), read => Assert.Equal(1, read[1]));
        for (int i = 0; i < rows.Length; i++)
            Assert.Equal(BatchGenerator.Generate(model, Spec.VocabularySize, [BpeTokenizer.EndOfTextId], [rows[i]])[0].Tokens, batched[i].Tokens);
        Assert.Equal(3, new[] { batched[0], batched[2], batched[3] }.Select(r => string.Join(",", r.Tokens)).Distinct().Count());
        Assert.All(batched, r => Assert.Equal(r == batched[1] ? 4 : 9, r.PromptTokens));
    }

    [Fact]
    public void ATinyTopPKeepsOnlyTheMostLikelyToken()
    {
        using var model = NewModel(4);
        var prompts = new[] { Prompt(4, 1), Prompt(6, 2) };

        var greedy = BatchGenerator.Generate(model, Spec.VocabularySize, [BpeTokenizer.EndOfTextId], prompts.Select(p => new GenerationRow(p, 0, 1, 8, 0)).ToArray());
        var nucleus = BatchGenerator.Generate(model, Spec.VocabularySize, [BpeTokenizer.EndOfTextId], prompts.Select((p, i) => new GenerationRow(p, 1, 1e-9, 8, (ulong)i)).ToArray());

        Assert.Equal(greedy.Select(g => g.Tokens), nucleus.Select(n => n.Tokens));
    }

    [Fact]
    public void FirstTokensAreDrawnAsOftenAsTheModelsProbabilitiesSay()
    {
        using var model = NewModel(5);
        var prompt = Prompt(4, 9);
        const int draws = 4000;
        const double temperature = 0.5;  // sharpens the random model's nearly flat distribution

        var rows = Enumerable.Range(0, draws).Select(i => new GenerationRow(prompt, temperature, 1, 1, (ulong)i)).ToArray();
        var drawn = BatchGenerator.Generate(model, Spec.VocabularySize, [BpeTokenizer.EndOfTextId], rows).Select(r => r.Tokens.Length == 0 ? BpeTokenizer.EndOfTextId : r.Tokens[0]);

        double[] p;
        using (var scope = NewDisposeScope())
        using (var noGrad = no_grad())
        {
            var logits = model.forward(tensor(prompt.Select(t => (long)t).ToArray(), [1, prompt.Length])).select(1, -1).squeeze(0);
            p = nn.functional.softmax(logits.div(temperature.ToScalar()), 0).to(ScalarType.Float64).data<double>().ToArray();
        }
        var counts = drawn.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        // The five most likely tokens: each within 4 standard errors of its probability.
        foreach (int v in Enumerable.Range(0, p.Length).OrderByDescending(v => p[v]).Take(5))
        {
            double seen = counts.GetValueOrDefault(v) / (double)draws, error = Math.Sqrt(p[v] * (1 - p[v]) / draws);
            Assert.InRange(seen, p[v] - 4 * error, p[v] + 4 * error);
        }
    }

    [Fact]
    public void RowsEndAtTheirLimitAtTheContextOrWhenTheStopTestSaysSo()
    {
        using var model = NewModel(6);
        var rows = new[]
        {
            new GenerationRow(Prompt(4, 1), 1, 1, MaxNewTokens: 3, Seed: 1),
            new GenerationRow(Prompt(20, 2), 1, 1, MaxNewTokens: 50, Seed: 2),  // 4 positions left in a context of 24
            new GenerationRow(Prompt(4, 3), 1, 1, MaxNewTokens: 50, Seed: 3),
            new GenerationRow(Prompt(30, 4), 1, 1, MaxNewTokens: 50, Seed: 4),  // longer than the context: keeps its last 23
            new GenerationRow(Prompt(4, 5), 1, 1, MaxNewTokens: 0, Seed: 5),
        };

        var results = BatchGenerator.Generate(model, Spec.VocabularySize, [BpeTokenizer.EndOfTextId], rows, stop: (row, tokens) => row == 2 && tokens.Count == 2);

        Assert.Equal((3, GenerationEnd.Length), (results[0].CompletionTokens, results[0].End));
        Assert.Equal(4, results[1].CompletionTokens);
        Assert.Equal((2, GenerationEnd.Stopped), (results[2].Tokens.Length, results[2].End));
        Assert.Equal((23, 1), (results[3].PromptTokens, results[3].CompletionTokens));
        Assert.Equal((0, GenerationEnd.Length), (results[4].Tokens.Length, results[4].End));
        // A row that writes end-of-text ends there, and the token is counted but not returned.
        Assert.All(results.Where(r => r.End == GenerationEnd.EndOfText), r => Assert.Equal(r.Tokens.Length + 1, r.CompletionTokens));
    }

    /// <summary>A model that reads through another and records the shape of every batch of tokens it decodes.</summary>
    private sealed class CountingModel : CausalLanguageModel
    {
        private readonly CausalLanguageModel inner;

        public CountingModel(CausalLanguageModel inner) : base(nameof(CountingModel))
        {
            this.inner = inner;
            register_module("inner", inner);
        }

        public List<long[]> Reads { get; } = [];

        public override string Architecture => inner.Architecture;

        public override int ContextLength => inner.ContextLength;

        public override int VocabularySize => inner.VocabularySize;

        public override Tensor forward(Tensor tokens) => inner.forward(tokens);

        public override Tensor HiddenStates(Tensor tokens) => inner.HiddenStates(tokens);

        public override Tensor Logits(Tensor hidden) => inner.Logits(hidden);

        public override Tensor NextTokenLogits(Tensor tokens, Tensor positions, KeyValueCache cache, Tensor mask)
        {
            Reads.Add(tokens.shape);
            return inner.NextTokenLogits(tokens, positions, cache, mask);
        }

        public override KeyValueCache NewCache(long batch, long capacity) => inner.NewCache(batch, capacity);
    }
}
