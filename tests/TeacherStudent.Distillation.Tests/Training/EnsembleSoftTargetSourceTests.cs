using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Training;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Training;

/// <summary>
/// An ensemble of two real (randomly initialised) MLP teachers in this process: its targets against the
/// mixture worked out in doubles from each teacher's own, and its version against what makes a new one.
/// </summary>
[Collection(TorchGlobalRandomness.Name)]
public sealed class EnsembleSoftTargetSourceTests : IDisposable
{
    private static readonly ModelSpec Spec = ModelSpec.ForFashionMnist(Mlp.Name, 16);
    private readonly nn.Module<Tensor, Tensor> firstModel, secondModel;

    public EnsembleSoftTargetSourceTests()
    {
        manual_seed(1);
        firstModel = Spec.Create();
        manual_seed(2);
        secondModel = Spec.Create();
    }

    [Fact]
    public async Task AnEnsemblesTargetsAreTheWeightedMixtureOfItsTeachersAtTheirTemperature()
    {
        // Arrange: weights 2 and 1 (2/3 and 1/3), temperature 2.
        var first = Source("a", "v1", firstModel);
        var second = Source("b", "v1", secondModel);
        var ensemble = new EnsembleSoftTargetSource([new(first, 2), new(second, 1)], EnsembleCombination.Mixture);
        var pixels = Pixels(3);

        // Act
        var batch = await ensemble.GetAsync(pixels, 3, CancellationToken.None);

        // Assert: log(2/3 p_a + 1/3 p_b), in doubles from each teacher's own log-probabilities.
        var a = first.LogProbs(pixels, 3);
        var b = second.LogProbs(pixels, 3);
        Assert.Equal((3, 10), (batch.Count, batch.Classes));
        for (int i = 0; i < 30; i++)
            Assert.Equal(Math.Log(2.0 / 3 * Math.Exp(a[i]) + 1.0 / 3 * Math.Exp(b[i])), batch.LogProbs[i], 1e-5);
        Assert.NotEqual(a, batch.LogProbs);
    }

    [Fact]
    public async Task TheVersionChangesWithAMembersVersionOrWeightAndOnlyThen()
    {
        // Arrange
        EnsembleSoftTargetSource Ensemble(string secondVersion, double secondWeight) => new(
            [new(Source("a", "v1", firstModel), 1), new(Source("b", secondVersion, secondModel), secondWeight)], EnsembleCombination.Mixture);

        // Act
        var identity = await Ensemble("v1", 1).DescribeAsync(CancellationToken.None);
        var again = await Ensemble("v1", 1).DescribeAsync(CancellationToken.None);
        var swapped = await Ensemble("v2", 1).DescribeAsync(CancellationToken.None);
        var reweighted = await Ensemble("v1", 3).DescribeAsync(CancellationToken.None);
        var batch = await Ensemble("v1", 1).GetAsync(Pixels(1), 1, CancellationToken.None);

        // Assert
        Assert.Equal(("mixture-of-a+b", 10), (identity.Name, identity.Classes));
        Assert.Equal(identity.Version, again.Version);
        Assert.Equal(identity.Version, batch.TeacherVersion);
        Assert.NotEqual(identity.Version, swapped.Version);
        Assert.NotEqual(identity.Version, reweighted.Version);
    }

    [Fact]
    public async Task TeachersThatScoreDifferentClassesAreRefusedNamingBoth()
    {
        // Arrange: a second teacher of 5 classes.
        var fiveClasses = Spec with { Classes = 5 };
        using var model = fiveClasses.Create();
        var ensemble = new EnsembleSoftTargetSource(
            [new(Source("ten", "v1", firstModel), 1), new(new ModelSoftTargetSource("five", "v1", fiveClasses, model, 2), 1)], EnsembleCombination.Product);

        // Act
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ensemble.DescribeAsync(CancellationToken.None));

        // Assert
        Assert.Equal("the ensemble's teachers do not agree on their outputs: 'ten' scores 10 classes, 'five' 5.", error.Message);
    }

    [Fact]
    public void AnEnsembleOfOneOrWithABadWeightIsRefused()
    {
        var one = Assert.Throws<ArgumentException>(() =>
            new EnsembleSoftTargetSource([new(Source("a", "v1", firstModel), 1)], EnsembleCombination.Mixture));
        var zero = Assert.Throws<ArgumentException>(() =>
            new EnsembleSoftTargetSource([new(Source("a", "v1", firstModel), 1), new(Source("b", "v1", secondModel), 0)], EnsembleCombination.Mixture));

        Assert.StartsWith("an ensemble needs at least two teachers; 1 given.", one.Message);
        Assert.StartsWith("a teacher's weight in an ensemble must be positive and finite, not 0.", zero.Message);
    }

    public void Dispose()
    {
        firstModel.Dispose();
        secondModel.Dispose();
    }

    private static ModelSoftTargetSource Source(string name, string version, nn.Module<Tensor, Tensor> model) =>
        new(name, version, Spec, model, temperature: 2);

    private static byte[] Pixels(int count) => Enumerable.Range(0, count * 28 * 28).Select(i => (byte)(i * 37 % 256)).ToArray();
}
