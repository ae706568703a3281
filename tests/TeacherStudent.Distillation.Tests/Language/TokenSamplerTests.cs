using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Language;

/// <summary>Sampling the next token: temperature, nucleus (top-p), and stopping at EndOfText.</summary>
public sealed class TokenSamplerTests
{
    private static readonly double[] P = [0.4, 0.3, 0.2, 0.1];

    private static Tensor Logits(int rows) => tensor(P.Select(p => (float)Math.Log(p)).ToArray(), [1, 4]).expand(rows, 4);

    [Fact]
    public void TemperatureZeroPicksTheMostLikelyToken()
    {
        using var scope = NewDisposeScope();

        var next = TokenSampler.Next(tensor(new float[] { 0.1f, 3, -1, 2, 0, 5, 1, 1 }, [2, 4]), 0, 1, null);

        Assert.Equal([1L, 1L], next.data<long>().ToArray());
    }

    [Fact]
    public void TopPKeepsOnlyTheMostLikelyTokensThatHoldThatMuchMass()
    {
        // 0.4 < 0.5, so token 1 (mass before it 0.4) stays; token 2 has 0.7 before it and goes.
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);

        var drawn = TokenSampler.Next(Logits(2000), 1, 0.5, generator).data<long>().ToArray();

        Assert.Equal([0L, 1L], drawn.Distinct().Order());
        Assert.InRange(drawn.Count(t => t == 0) / 2000.0, 0.53, 0.61);  // 0.4 / 0.7 = 0.571
    }

    [Fact]
    public void WithoutTopPEveryTokenIsDrawnAsOftenAsItsProbabilitySays()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);

        var drawn = TokenSampler.Next(Logits(4000), 1, 1, generator).data<long>().ToArray();

        for (int t = 0; t < 4; t++) Assert.InRange(drawn.Count(d => d == t) / 4000.0, P[t] - 0.03, P[t] + 0.03);
    }

    [Fact]
    public void GenerationStopsAfterEndOfTextAndCompleteLeavesItOut()
    {
        // A model whose blocks add nothing and whose every token embeds as the same vector, so the final norm
        // outputs that vector everywhere, and whose head scores only EndOfText along it: EndOfText is by far
        // the most likely token after any context.
        var tokenizer = BpeTrainer.Train(["the cat sat on the mat"], vocabularySize: 262);
        using var model = new Llama(LlamaConfig.Small(tokenizer.VocabularySize, 8, 1, 8, 2) with { TiedHead = false }).InitialiseRandomly();
        using (no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters())
                if (name.EndsWith("o_proj.weight") || name.EndsWith("down_proj.weight") || name == "lm_head.weight") parameter.zero_();
            model.state_dict()["model.embed_tokens.weight"].fill_(1);
            model.state_dict()["lm_head.weight"][BpeTokenizer.EndOfTextId].fill_(5);
        }
        var special = new SpecialTokens(null, [BpeTokenizer.EndOfTextId], null);

        var generated = TokenSampler.Generate(model, tokenizer.VocabularySize, special.EndOfSequence, [1, 2, 3], new SamplingSettings(Temperature: 0, MaxNewTokens: 10));
        var text = TokenSampler.Complete(model, tokenizer, special, "the", new SamplingSettings(Temperature: 0, MaxNewTokens: 10), seed: 1);

        Assert.Equal([BpeTokenizer.EndOfTextId], generated);
        Assert.Equal("", text);
    }

    [Fact]
    public void GenerationStopsAtMaxNewTokensAndReadsOnlyTheLastContextLengthTokens()
    {
        var tokenizer = BpeTrainer.Train(["the cat sat on the mat"], vocabularySize: 262);
        using var model = new Llama(LlamaConfig.Small(tokenizer.VocabularySize, 4, 1, 8, 2)).InitialiseRandomly();
        using var generator = new Generator(3);

        // A 10-token prompt is longer than the context of 4: only its end is read.
        var generated = TokenSampler.Generate(model, tokenizer.VocabularySize, [BpeTokenizer.EndOfTextId], Enumerable.Range(97, 10).ToArray(),
            new SamplingSettings(Temperature: 1, MaxNewTokens: 6), generator);

        Assert.InRange(generated.Length, 1, 6);
        if (!generated.Contains(BpeTokenizer.EndOfTextId)) Assert.Equal(6, generated.Length);
    }
}
