using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Tests.Training;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Models;

/// <summary>
/// The Llama-family decoder's own properties: Hugging Face's tensor names, causality, grouped-query
/// attention, and decoding with a cache. Its agreement with transformers' semantics is checked against
/// an independent Python reference in the Hugging Face checkpoint tests.
/// </summary>
[Collection(TorchGlobalRandomness.Name)]
public sealed class LlamaTests
{
    // 4 query heads over 2 key/value heads, a head width (6) that is not width / heads, Qwen3's q/k norms.
    internal static readonly LlamaConfig TinyQwen3 = new()
    {
        Architecture = "Qwen3ForCausalLM", VocabularySize = 13, Width = 16, FeedForwardWidth = 24, Layers = 2,
        Heads = 4, KeyValueHeads = 2, HeadWidth = 6, ContextLength = 12, QueryKeyNorm = true, TiedHead = true,
    };

    internal static readonly LlamaConfig TinyQwen2 = TinyQwen3 with
    {
        Architecture = "Qwen2ForCausalLM", QueryKeyNorm = false, QueryKeyValueBias = true, TiedHead = false, HeadWidth = 4,
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AForwardLeavesEachLayersOutputInTheCallersScopeNotItsIntermediates(bool decoding)
    {
        // Arrange: 8 layers; every layer makes dozens of tensors (projections, rotations, scores, the feed-forward's hidden layer).
        const int layers = 8;
        using var model = new Llama(TinyQwen3 with { Layers = layers }).InitialiseRandomly();
        using var noGrad = no_grad();
        using var cache = model.NewCache(2, 6);
        using var scope = NewDisposeScope();
        var tokens = tensor(new long[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        var positions = arange(3, ScalarType.Int64).expand(2, 3);
        var mask = ones([3, 3], ScalarType.Bool).tril().view(1, 1, 3, 3);
        int before = scope.DisposablesCount;

        // Act
        var logits = decoding ? model.NextTokenLogits(tokens, positions, cache, mask) : model.forward(tokens);

        // Assert: what a forward leaves behind in the caller's scope grows by a tensor or two per layer, not by the
        // layers' intermediates, which a dispose scope would otherwise hold to its end (6 GB for 16 x 256 tokens of a 20-layer model).
        Assert.Equal(decoding ? [2, 13] : [2, 3, 13], logits.shape);
        Assert.InRange(scope.DisposablesCount - before, layers, 2 * layers + 16);
    }

    [Fact]
    public void AForwardHoldsEveryScalarItHandsToLibtorchWhileTheCollectorRuns()
    {
        // Arrange
        using var model = new Llama(TinyQwen3 with { Layers = 1 }).InitialiseRandomly();
        using var noGrad = no_grad();
        using var tokens = tensor(new long[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);

        // Act and assert: every forward completes, with finite logits (an unheld Scalar throws from libtorch).
        ConstantCollection.Run(8000, () =>
        {
            using var scope = NewDisposeScope();
            Assert.True(model.forward(tokens).isfinite().all().item<bool>());
        });
    }

    [Fact]
    public void TheStateDictNamesEveryTensorAsHuggingFaceDoes()
    {
        using var model = new Llama(TinyQwen2 with { Layers = 1 });

        var names = model.state_dict().Keys.Order(StringComparer.Ordinal).ToArray();

        string[] expected =
        [
            "lm_head.weight",
            "model.embed_tokens.weight",
            "model.layers.0.input_layernorm.weight",
            "model.layers.0.mlp.down_proj.weight",
            "model.layers.0.mlp.gate_proj.weight",
            "model.layers.0.mlp.up_proj.weight",
            "model.layers.0.post_attention_layernorm.weight",
            "model.layers.0.self_attn.k_proj.bias",
            "model.layers.0.self_attn.k_proj.weight",
            "model.layers.0.self_attn.o_proj.weight",
            "model.layers.0.self_attn.q_proj.bias",
            "model.layers.0.self_attn.q_proj.weight",
            "model.layers.0.self_attn.v_proj.bias",
            "model.layers.0.self_attn.v_proj.weight",
            "model.norm.weight",
        ];
        Assert.Equal(expected, names);
        Assert.Equal(new long[] { 2 * 4, 16 }, model.state_dict()["model.layers.0.self_attn.k_proj.weight"].shape);
    }

    [Fact]
    public void ATiedHeadHasNoTensorOfItsOwnAndQwen3NormsEachHead()
    {
        using var model = new Llama(TinyQwen3 with { Layers = 1 });

        var tensors = model.state_dict();

        Assert.DoesNotContain("lm_head.weight", tensors.Keys);
        Assert.Equal(new long[] { 6 }, tensors["model.layers.0.self_attn.q_norm.weight"].shape);
        Assert.Equal(new long[] { 6 }, tensors["model.layers.0.self_attn.k_norm.weight"].shape);
        // 13x16 embedding (also the head) + 2 norms of 16 + q 16->24, k and v 16->12, o 24->16, 2 head norms of 6, 3 x 16x24 + final norm.
        long expected = 13 * 16 + 2 * 16 + 16 * 24 + 2 * 16 * 12 + 24 * 16 + 2 * 6 + 3 * 16 * 24 + 16;
        Assert.Equal(expected, model.ParameterCount());
    }

    [Fact]
    public void ChangingATokenLeavesTheLogitsOfEarlierPositionsUnchanged()
    {
        manual_seed(1);
        using var scope = NewDisposeScope();
        using var model = new Llama(TinyQwen3).InitialiseRandomly(0.2);
        model.eval();
        var tokens = tensor(new long[] { 1, 4, 1, 5, 9, 2, 6, 5 }).reshape(1, 8);
        var changed = tokens.clone();
        changed[0, 5] = tensor(10L);

        using var noGrad = no_grad();
        var before = model.forward(tokens);
        var after = model.forward(changed);

        var earlier = (before[.., ..5] - after[.., ..5]).abs().max().item<float>();
        var atAndAfter = (before[.., 5..] - after[.., 5..]).abs().amax([0, 2]).data<float>().ToArray();
        Assert.True(earlier < 1e-6, $"positions before the change moved by {earlier}");
        Assert.All(atAndAfter, d => Assert.True(d > 1e-4, $"a position at or after the change moved only {d}"));
    }

    [Fact]
    public void DecodingWithACacheGivesWhatTheWholeForwardGivesAtEachPosition()
    {
        manual_seed(2);
        using var scope = NewDisposeScope();
        using var model = new Llama(TinyQwen3).InitialiseRandomly(0.2);
        model.eval();
        using var noGrad = no_grad();
        var tokens = tensor(new long[] { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8 }).reshape(2, 6);
        var whole = model.forward(tokens);

        // The first four tokens in one step, then one token at a time.
        using var cache = model.NewCache(2, 6);
        var positions = arange(6, ScalarType.Int64).expand(2, 6);
        var mask = ones([6, 6], ScalarType.Bool).tril().expand(2, 1, 6, 6);
        var logits = new List<Tensor> { model.NextTokenLogits(tokens[.., ..4], positions[.., ..4], cache, mask[.., .., ..4, ..4]) };
        for (int t = 4; t < 6; t++)
            logits.Add(model.NextTokenLogits(tokens[.., t..(t + 1)], positions[.., t..(t + 1)], cache, mask[.., .., t..(t + 1), ..(t + 1)]));

        Assert.Equal(6, cache.Length);
        for (int i = 0; i < 3; i++)
        {
            var difference = (logits[i] - whole[.., 3 + i]).abs().max().item<float>();
            Assert.True(difference < 1e-4, $"position {3 + i}: cached decoding differs by {difference}");
        }
    }

    [Fact]
    public void LinearRopeScalingDividesEveryFrequencyAndLlama3KeepsTheHighOnes()
    {
        var plain = TinyQwen3 with { HeadWidth = 16, RopeTheta = 10000 };
        var linear = plain with { RopeScaling = new RopeScaling("linear", 4) };
        var llama3 = plain with { RopeScaling = new RopeScaling("llama3", 8, 1, 4, OriginalContextLength: 64) };

        var f = Llama.RotaryFrequencies(plain);
        var l = Llama.RotaryFrequencies(linear);
        var l3 = Llama.RotaryFrequencies(llama3);

        for (int i = 0; i < f.Length; i++) Assert.Equal(f[i] / 4, l[i], 6);
        // Wavelength 2π/f: below 64/4 = 16 kept, above 64/1 = 64 divided by 8, between blended.
        for (int i = 0; i < f.Length; i++)
        {
            double wavelength = 2 * Math.PI / f[i];
            if (wavelength < 16) Assert.Equal(f[i], l3[i], 6);
            else if (wavelength > 64) Assert.Equal(f[i] / 8, l3[i], 6);
            else Assert.InRange(l3[i], f[i] / 8 - 1e-7, f[i] + 1e-7);
        }
        Assert.Contains(f.Select(x => 2 * Math.PI / x), w => w < 16);
        Assert.Contains(f.Select(x => 2 * Math.PI / x), w => w > 64);
    }
}
