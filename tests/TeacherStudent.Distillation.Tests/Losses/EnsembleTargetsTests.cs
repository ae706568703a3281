using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Losses;

/// <summary>
/// An ensemble's targets against values worked out by hand from the definitions: the mixture
/// Σ wᵢ pᵢ and the product of experts ∏ pᵢ^wᵢ / Z, weights scaled to sum to 1.
/// </summary>
public sealed class EnsembleTargetsTests
{
    private static readonly double[] First = [0.7, 0.2, 0.1];
    private static readonly double[] Second = [0.1, 0.3, 0.6];

    [Fact]
    public void TheMixtureIsTheWeightedAverageOfTheMembersProbabilities()
    {
        // Arrange: weights 3 and 1, so 0.75 and 0.25.
        using var scope = NewDisposeScope();
        double[] expected = [0.75 * 0.7 + 0.25 * 0.1, 0.75 * 0.2 + 0.25 * 0.3, 0.75 * 0.1 + 0.25 * 0.6]; // 0.55, 0.225, 0.225

        // Act
        var combined = EnsembleTargets.Combine([LogOf(First), LogOf(Second)], [3, 1], EnsembleCombination.Mixture);

        // Assert
        AssertProbabilities(expected, combined);
    }

    [Fact]
    public void TheProductIsTheNormalisedWeightedGeometricMean()
    {
        // Arrange: weights 1 and 3, so p1^0.25 p2^0.75 / Z.
        using var scope = NewDisposeScope();
        var unnormalised = First.Zip(Second, (a, b) => Math.Pow(a, 0.25) * Math.Pow(b, 0.75)).ToArray();
        var expected = unnormalised.Select(u => u / unnormalised.Sum()).ToArray();

        // Act
        var combined = EnsembleTargets.Combine([LogOf(First), LogOf(Second)], [1, 3], EnsembleCombination.Product);

        // Assert
        AssertProbabilities(expected, combined);
    }

    [Theory]
    [InlineData(EnsembleCombination.Mixture)]
    [InlineData(EnsembleCombination.Product)]
    public void OnlyTheRatioOfTheWeightsCounts(EnsembleCombination combination)
    {
        using var scope = NewDisposeScope();
        var small = EnsembleTargets.Combine([LogOf(First), LogOf(Second)], [1, 2], combination);
        var large = EnsembleTargets.Combine([LogOf(First), LogOf(Second)], [50, 100], combination);

        Assert.True(small.allclose(large, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void AMixtureOfTinyProbabilitiesKeepsTheirLogarithmWhereTheProbabilitiesThemselvesUnderflow()
    {
        // Arrange: both members give the second class e^-200 and e^-201 (0 in float32), the rest to the first.
        using var scope = NewDisposeScope();
        var first = tensor(new[] { 0f, -200f });
        var second = tensor(new[] { 0f, -201f });

        // Act
        var combined = EnsembleTargets.Combine([first, second], [1, 1], EnsembleCombination.Mixture);

        // Assert: log(0.5 e^-200 + 0.5 e^-201) = -200 + log(0.5 (1 + e^-1)), not -inf.
        Assert.Equal(-200 + Math.Log(0.5 * (1 + Math.Exp(-1))), combined[1].item<float>(), 3);
        Assert.Equal(0, combined[0].item<float>(), 5);
    }

    [Fact]
    public void RowsAreCombinedEachOnItsOwn()
    {
        // Arrange: a batch of two rows, the second the members swapped.
        using var scope = NewDisposeScope();
        var first = stack([LogOf(First), LogOf(Second)]);
        var second = stack([LogOf(Second), LogOf(First)]);

        // Act
        var combined = EnsembleTargets.Combine([first, second], [3, 1], EnsembleCombination.Mixture);

        // Assert
        Assert.Equal([2, 3], combined.shape);
        AssertProbabilities([0.55, 0.225, 0.225], combined[0]);
        AssertProbabilities([0.25 * 0.7 + 0.75 * 0.1, 0.25 * 0.2 + 0.75 * 0.3, 0.25 * 0.1 + 0.75 * 0.6], combined[1]);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void AWeightThatIsNotPositiveAndFiniteIsRefusedNamingTheMember(double weight)
    {
        using var scope = NewDisposeScope();

        var error = Assert.Throws<ArgumentException>(() =>
            EnsembleTargets.Combine([LogOf(First), LogOf(Second)], [1, weight], EnsembleCombination.Mixture));

        Assert.Contains("member 1's weight", error.Message);
    }

    [Fact]
    public void MembersWithDifferentOutputsAreRefusedWithBothShapes()
    {
        using var scope = NewDisposeScope();

        var error = Assert.Throws<ArgumentException>(() =>
            EnsembleTargets.Combine([LogOf(First), LogOf([0.5, 0.5])], [1, 1], EnsembleCombination.Product));

        Assert.Contains("member 1 gives log-probabilities of shape [2], member 0 of [3]", error.Message);
    }

    [Theory]
    [InlineData("mixture", EnsembleCombination.Mixture)]
    [InlineData("Product", EnsembleCombination.Product)]
    public void ACombinationIsChosenByItsNameInAnyCase(string name, EnsembleCombination expected) =>
        Assert.Equal(expected, EnsembleTargets.Parse(name));

    [Fact]
    public void AnUnknownCombinationIsRefusedListingTheKnownOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => EnsembleTargets.Parse("average"));

        Assert.Contains("known: mixture, product", error.Message);
    }

    private static Tensor LogOf(double[] probabilities) => tensor(probabilities.Select(p => (float)Math.Log(p)).ToArray());

    private static void AssertProbabilities(double[] expected, Tensor logProbs)
    {
        var actual = logProbs.exp().data<float>().ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 5);
    }
}
