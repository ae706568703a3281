using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Tests.Training;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Language;

/// <summary>
/// A language-model teacher ensemble over two tiny Llamas that share a tokenizer (the same fortunes, the same
/// BPE) and differ in their weights: targets combined from the members' dense ones, then cut as asked.
/// </summary>
[Collection(TorchGlobalRandomness.Name)]
public sealed class EnsembleSequenceTargetSourceTests : IDisposable
{
    private const int Sequences = 3, Length = 12;
    private readonly TemporaryDirectory directory = new();
    private readonly ModelSequenceTargetSource first, second;
    private readonly int[] tokens;

    public EnsembleSequenceTargetSourceTests()
    {
        first = new ModelSequenceTargetSource("a", HuggingFaceCheckpoint.Load(TinyLanguageModel.Write(directory.File("a"), seed: 1), CPU));
        second = new ModelSequenceTargetSource("b", HuggingFaceCheckpoint.Load(TinyLanguageModel.Write(directory.File("b"), seed: 2), CPU));
        tokens = Enumerable.Range(0, Sequences * Length).Select(i => (i * 37 + 11) % first.Model.VocabularySize).ToArray();
    }

    private EnsembleSequenceTargetSource Ensemble(EnsembleCombination combination = EnsembleCombination.Mixture) =>
        new([new(first, 1), new(second, 3)], combination);

    // The mixture (weights 1 and 3) of both models' dense targets at T = 2, worked out in doubles.
    private async Task<double[]> ExpectedMixtureAsync()
    {
        var dense = new SequenceTargetSettings(2f);
        var a = (await first.GetAsync(tokens, Sequences, Length, dense, CancellationToken.None)).LogProbs;
        var b = (await second.GetAsync(tokens, Sequences, Length, dense, CancellationToken.None)).LogProbs;
        Assert.True(Enumerable.Range(0, a.Length).Max(i => Math.Abs(a[i] - b[i])) > 0.1, "the two models answer alike; the test proves nothing.");
        return Enumerable.Range(0, a.Length).Select(i => Math.Log(0.25 * Math.Exp(a[i]) + 0.75 * Math.Exp(b[i]))).ToArray();
    }

    [Fact]
    public async Task DenseTargetsAreTheWeightedMixtureOfTheMembers()
    {
        var expected = await ExpectedMixtureAsync();

        var batch = await Ensemble().GetAsync(tokens, Sequences, Length, new SequenceTargetSettings(2f), CancellationToken.None);

        Assert.Equal((Sequences, Length, first.Model.VocabularySize), (batch.Sequences, batch.Length, batch.VocabularySize));
        Assert.Equal(expected.Length, batch.LogProbs.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - batch.LogProbs[i]) < 1e-5, $"value {i}: {batch.LogProbs[i]} != {expected[i]}");
    }

    [Fact]
    public async Task TopKTargetsAreTheTopOfTheMixtureWithTheMassLeftOut()
    {
        var expected = await ExpectedMixtureAsync();
        var vocabulary = first.Model.VocabularySize;

        var batch = await Ensemble().GetAsync(tokens, Sequences, Length, new SequenceTargetSettings(2f, K: 5), CancellationToken.None);

        for (int position = 0; position < Sequences * Length; position++)
        {
            var row = expected.AsSpan(position * vocabulary, vocabulary).ToArray();
            var top = Enumerable.Range(0, vocabulary).OrderByDescending(v => row[v]).Take(5).ToArray();
            for (int j = 0; j < 5; j++) Assert.Equal(row[top[j]], batch.LogProbs[position * 5 + j], 1e-5);
            Assert.Equal(top.ToHashSet(), batch.Ids!.AsSpan(position * 5, 5).ToArray().ToHashSet());
            var tail = Math.Log(1 - top.Sum(v => Math.Exp(row[v])));
            Assert.True(Math.Abs(tail - batch.TailLogMass![position]) < 1e-4, $"position {position}: tail {batch.TailLogMass[position]} != {tail}");
        }
    }

    [Fact]
    public async Task SampledTargetsAreDrawnFromTheMixtureTheSameWayEveryTime()
    {
        var expected = await ExpectedMixtureAsync();
        var vocabulary = first.Model.VocabularySize;
        var settings = new SequenceTargetSettings(2f, K: 8, Kind: SparseTargetKind.Sampled, Seed: 7);

        var once = await Ensemble().GetAsync(tokens, Sequences, Length, settings, CancellationToken.None);
        var again = await Ensemble().GetAsync(tokens, Sequences, Length, settings, CancellationToken.None);

        Assert.Equal(once.Ids, again.Ids);
        Assert.Null(once.TailLogMass);
        for (int i = 0; i < once.Ids!.Length; i++)
        {
            var position = i / 8;
            Assert.True(Math.Abs(expected[position * vocabulary + once.Ids[i]] - once.LogProbs[i]) < 1e-5, $"draw {i}");
        }
    }

    [Fact]
    public async Task ItsNameAndVersionComeFromItsMembersAndItsVersionChangesWithAWeight()
    {
        var identity = await Ensemble().DescribeAsync(CancellationToken.None);
        var product = await Ensemble(EnsembleCombination.Product).DescribeAsync(CancellationToken.None);
        var reweighted = await new EnsembleSequenceTargetSource([new(first, 1), new(second, 2)], EnsembleCombination.Mixture).DescribeAsync(CancellationToken.None);
        var batch = await Ensemble().GetAsync(tokens, Sequences, Length, new SequenceTargetSettings(1f, K: 4), CancellationToken.None);

        Assert.Equal(("mixture-of-a+b", first.Model.Tokenizer.Digest), (identity.Name, identity.TokenizerDigest));
        Assert.Equal("product-of-a+b", product.Name);
        Assert.Equal(identity.Version, batch.TeacherVersion);
        Assert.NotEqual(identity.Version, product.Version);
        Assert.NotEqual(identity.Version, reweighted.Version);
    }

    [Fact]
    public async Task TeachersWithAnotherTokenizerAreRefusedNamingBoth()
    {
        using var other = new ModelSequenceTargetSource("c", HuggingFaceCheckpoint.Load(TinyLanguageModel.Write(directory.File("c"), vocabularySize: 300), CPU));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new EnsembleSequenceTargetSource([new(first, 1), new(other, 1)], EnsembleCombination.Mixture).DescribeAsync(CancellationToken.None));

        Assert.Contains("do not share a tokenizer: 'a' uses", error.Message);
        Assert.Contains("'c'", error.Message);
    }

    public void Dispose()
    {
        first.Dispose();
        second.Dispose();
        directory.Dispose();
    }
}
