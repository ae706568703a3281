using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Models;

/// <summary>
/// A tiny decoder, small enough that every test runs in well under a second. The models draw their
/// initial weights from torch's global generator, and one test seeds it, so they run alone.
/// </summary>
[Collection(TorchGlobalRandomness.Name)]
public sealed class GptTests
{
    // V = 11 differs from the context length and from 4C, so the token embedding is the only [V, C] matrix.
    private static readonly GptSpec Tiny = new(VocabularySize: 11, ContextLength: 8, Layers: 2, Width: 8, Heads: 2);

    [Fact]
    public void ForwardMapsTokenIdsToLogitsOverTheVocabularyAtEveryPosition()
    {
        using var scope = NewDisposeScope();
        using var model = new Gpt(Tiny);
        model.eval();

        var logits = model.forward(randint(0, Tiny.VocabularySize, [3, 5]));

        Assert.Equal(new long[] { 3, 5, 11 }, logits.shape);
        Assert.Equal(ScalarType.Float32, logits.dtype);
        Assert.All(logits.data<float>().ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void ChangingATokenLeavesTheLogitsOfEarlierPositionsUnchanged()
    {
        using var scope = NewDisposeScope();
        using var model = new Gpt(Tiny);
        model.eval();
        var tokens = tensor(new long[] { 1, 4, 1, 5, 9, 2, 6, 5 }).reshape(1, 8);
        var changed = tokens.clone();
        changed[0, 5] = tensor(10L);

        var before = model.forward(tokens);
        var after = model.forward(changed);

        var earlier = (before[.., ..5] - after[.., ..5]).abs().max().item<float>();
        var atAndAfter = (before[.., 5..] - after[.., 5..]).abs().amax([0, 2]).data<float>().ToArray();
        Assert.True(earlier < 1e-6, $"positions before the change moved by {earlier}");
        Assert.All(atAndAfter, d => Assert.True(d > 1e-4, $"a position at or after the change moved only {d}"));
    }

    [Fact]
    public void TheOutputHeadIsTheTokenEmbedding()
    {
        using var scope = NewDisposeScope();
        using var model = new Gpt(Tiny);
        var tokens = tensor(new long[] { 0, 1, 2, 3 }).reshape(1, 4);

        model.forward(tokens).sum().backward();

        // One [V, C] matrix in the whole model: the head has no weights of its own.
        var vocabularyByWidth = model.named_parameters().Where(p => p.parameter.shape.SequenceEqual(new long[] { 11, 8 })).ToList();
        Assert.Equal("tokenEmbedding.weight", Assert.Single(vocabularyByWidth).name);
        // Tokens 4..10 are not in the input, so the embedding lookup gives their rows no gradient;
        // only the head, which scores every token with its row, can.
        var gradient = vocabularyByWidth[0].parameter.grad!;
        var unseenRows = gradient[4..].abs().sum(1).data<float>().ToArray();
        Assert.All(unseenRows, g => Assert.True(g > 0, "an unseen token's embedding row got no gradient from the head"));
    }

    [Fact]
    public void ParameterCountMatchesTheFormulaForATinySpec()
    {
        using var model = new Gpt(Tiny with { ContextLength = 5 });

        // V = 11, context 5, C = 8, 2 layers. Embeddings: 11*8 + 5*8 = 128. Per block: two LayerNorms
        // 2*(8 + 8) = 32; query/key/value 8*24 + 24 = 216; attention out 8*8 + 8 = 72; MLP up
        // 8*32 + 32 = 288; MLP down 32*8 + 8 = 264; 872 in all. Final LayerNorm 16. The tied head adds 0.
        Assert.Equal(128 + 2 * 872 + 16, model.ParameterCount());
        Assert.Equal(1888, model.ParameterCount());
    }

    [Fact]
    public void ResidualProjectionsStartSmallerThanTheOtherWeights()
    {
        using var model = new Gpt(new GptSpec(VocabularySize: 64, ContextLength: 16, Layers: 8, Width: 64, Heads: 4));

        var stds = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.std().item<float>());

        // GPT-2: N(0, 0.02), and 0.02 / sqrt(2 * 8) = 0.005 for the two projections into the residual stream.
        Assert.Equal(0.02, stds["tokenEmbedding.weight"], 0.002);
        Assert.Equal(0.02, stds["blocks.0.attention.queryKeyValue.weight"], 0.002);
        Assert.Equal(0.02, stds["blocks.3.feedForward.expansion.weight"], 0.002);
        Assert.Equal(0.005, stds["blocks.0.attention.projection.weight"], 0.0005);
        Assert.Equal(0.005, stds["blocks.7.feedForward.projection.weight"], 0.0005);
    }

    [Fact]
    public void ATinyModelLearnsAShortRepeatedSequence()
    {
        manual_seed(7);
        var spec = new GptSpec(VocabularySize: 16, ContextLength: 16, Layers: 2, Width: 32, Heads: 4);
        using var model = new Gpt(spec);
        using var optimizer = optim.Adam(model.parameters(), lr: 1e-2);
        long[] pattern = [3, 14, 1, 5, 9, 2, 6, 8];
        var sequence = Enumerable.Range(0, 17).Select(i => pattern[i % pattern.Length]).ToArray();
        using var inputs = tensor(sequence[..16]).reshape(1, 16);
        using var targets = tensor(sequence[1..]);
        var losses = new List<double>();

        for (int step = 0; step < 40; step++)
        {
            using var scope = NewDisposeScope();
            var loss = nn.functional.cross_entropy(model.forward(inputs).reshape(16, spec.VocabularySize), targets);
            loss.backward();
            optimizer.step();
            optimizer.zero_grad();
            losses.Add(loss.item<float>());
        }

        // Starts near uniform (log 16 = 2.77) thanks to the small initialisation, ends far below it.
        Assert.Equal(Math.Log(16), losses[0], 0.3);
        Assert.True(losses[^1] < 0.1 * Math.Log(16), $"loss went {losses[0]:F3} -> {losses[^1]:F3}");
    }

    [Fact]
    public void ASavedModelLoadsIntoAFreshOneWithTheSameLogits()
    {
        using var scope = NewDisposeScope();
        using var saved = new Gpt(Tiny);
        using var fresh = new Gpt(Tiny);
        saved.eval();
        fresh.eval();
        var tokens = randint(0, Tiny.VocabularySize, [2, 8]);
        using var stream = new MemoryStream();

        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            saved.save(writer);
        stream.Position = 0;
        Assert.False(saved.forward(tokens).equal(fresh.forward(tokens)).all().item<bool>(), "two fresh models should differ");
        using (var reader = new BinaryReader(stream))
            fresh.load(reader);

        Assert.True(saved.forward(tokens).equal(fresh.forward(tokens)).all().item<bool>());
    }

    [Fact]
    public void DropoutActsOnlyWhileTraining()
    {
        using var scope = NewDisposeScope();
        using var model = new Gpt(Tiny with { Dropout = 0.2 });
        var tokens = randint(0, Tiny.VocabularySize, [2, 8]);

        model.train();
        var trainingDiffers = !model.forward(tokens).equal(model.forward(tokens)).all().item<bool>();
        model.eval();
        var evaluationRepeats = model.forward(tokens).equal(model.forward(tokens)).all().item<bool>();

        Assert.True(trainingDiffers, "two training passes with dropout gave the same logits");
        Assert.True(evaluationRepeats, "two evaluation passes gave different logits");
    }

    [Fact]
    public void ASequenceLongerThanTheContextIsRejected()
    {
        using var scope = NewDisposeScope();
        using var model = new Gpt(Tiny);

        var error = Assert.Throws<ArgumentException>(() => model.forward(zeros(1, 9, dtype: ScalarType.Int64)));

        Assert.Contains("9 tokens", error.Message);
        Assert.Contains("context of 8", error.Message);
    }

    [Theory]
    [InlineData(10, 3)]
    [InlineData(8, 0)]
    public void AWidthThatTheHeadsDoNotDivideIsRejected(int width, int heads)
    {
        var error = Assert.Throws<ArgumentException>(() => new Gpt(Tiny with { Width = width, Heads = heads }));

        Assert.Contains("multiple of the number of heads", error.Message);
    }
}
