using TeacherStudent.Distillation.Data;

namespace TeacherStudent.Distillation.Tests.Data;

public sealed class ImageDatasetTests
{
    private static readonly string[] Classes = ["a", "b", "c"];

    [Fact]
    public void SubsetHoldsTheChosenExamplesInTheGivenOrder()
    {
        var dataset = Numbered(5);

        var subset = dataset.Subset([3, 0, 3]);

        Assert.Equal(3, subset.Count);
        Assert.Equal(new byte[] { 3, 3, 3, 3, 0, 0, 0, 0, 3, 3, 3, 3 }, subset.Pixels);
        Assert.Equal(new byte[] { 0, 0, 0 }, subset.Labels); // labels are index % 3
        Assert.Equal((2, 2), (subset.Height, subset.Width));
        Assert.Same(dataset.ClassNames, subset.ClassNames);
    }

    [Fact]
    public void TakeKeepsTheFirstExamplesAndStopsAtTheEnd()
    {
        var dataset = Numbered(4);

        Assert.Equal(new byte[] { 0, 1 }, dataset.Take(2).Labels);
        Assert.Equal(4, dataset.Take(10).Count);
    }

    [Fact]
    public void SplitValidationGivesDisjointSetsOfTheRightSizesThatCoverEverything()
    {
        var dataset = Numbered(20);

        var (train, validation) = dataset.SplitValidation(6, seed: 3);

        var trainIds = Ids(train);
        var validationIds = Ids(validation);
        Assert.Equal(14, train.Count);
        Assert.Equal(6, validation.Count);
        Assert.Empty(trainIds.Intersect(validationIds));
        Assert.Equal(Enumerable.Range(0, 20), trainIds.Concat(validationIds).Order());
        // Each example keeps its own label.
        Assert.All(Enumerable.Range(0, validation.Count), i => Assert.Equal(validationIds[i] % 3, validation.Labels[i]));
    }

    [Fact]
    public void SplitValidationIsTheSameForTheSameSeedAndDiffersForAnother()
    {
        var dataset = Numbered(20);

        var first = Ids(dataset.SplitValidation(6, seed: 3).Validation);
        var again = Ids(dataset.SplitValidation(6, seed: 3).Validation);
        var other = Ids(dataset.SplitValidation(6, seed: 4).Validation);

        Assert.Equal(first, again);
        Assert.NotEqual(first.Order(), other.Order());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void SplitValidationRejectsASizeThatLeavesEitherSideEmpty(int count)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Numbered(5).SplitValidation(count, seed: 1));

        Assert.Contains("between 1 and 4", error.Message);
    }

    [Fact]
    public void PixelsThatDoNotMatchTheLabelsAreRejected()
    {
        var error = Assert.Throws<ArgumentException>(() => new ImageDataset(new byte[7], new byte[2], 2, 2, Classes));

        Assert.Contains("2 labels need 8 pixels, not 7", error.Message);
    }

    /// <summary>Examples of 2 x 2 pixels all equal to the example's index, labelled index % 3.</summary>
    private static ImageDataset Numbered(int count) => new(
        Enumerable.Range(0, count).SelectMany(i => Enumerable.Repeat((byte)i, 4)).ToArray(),
        Enumerable.Range(0, count).Select(i => (byte)(i % 3)).ToArray(),
        2, 2, Classes);

    /// <summary>Which original examples a dataset made by <see cref="Numbered"/> holds, in order.</summary>
    private static int[] Ids(ImageDataset dataset) => Enumerable.Range(0, dataset.Count).Select(i => (int)dataset.Example(i)[0]).ToArray();
}
