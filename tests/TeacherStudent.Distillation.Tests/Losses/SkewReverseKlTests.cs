using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Losses;

public sealed class SkewReverseKlTests
{
    [Fact]
    public void SkewReverseKlAtAlphaPointOneMatchesTheHandComputedValue()
    {
        using var scope = NewDisposeScope();

        var divergence = new SkewReverseKl(0.1).Divergence(Row([0.5, 0.5]), Row([0.25, 0.75])).item<double>();

        // m = 0.9 p + 0.1 q = [0.475, 0.525]; KL(q || m).
        Assert.Equal(0.25 * Math.Log(0.25 / 0.475) + 0.75 * Math.Log(0.75 / 0.525), divergence, 1e-12);
    }

    [Fact]
    public void SkewReverseKlAtAlphaZeroIsReverseKl()
    {
        using var scope = NewDisposeScope();

        var divergence = new SkewReverseKl(0).Divergence(Row([0.5, 0.5]), Row([0.25, 0.75])).item<double>();

        Assert.Equal(0.25 * Math.Log(0.25 / 0.5) + 0.75 * Math.Log(0.75 / 0.5), divergence, 1e-12);
    }

    [Fact]
    public void SkewReverseKlStaysFiniteWhereTheTeacherPutsNoMass()
    {
        using var scope = NewDisposeScope();
        var teacher = tensor(new[] { 0.0, double.NegativeInfinity }).reshape(1, 2);

        var divergence = new SkewReverseKl(0.1).Divergence(teacher, Row([0.5, 0.5])).item<double>();

        // p = [1, 0]: m = 0.9 p + 0.1 q = [0.95, 0.05].
        Assert.Equal(0.5 * Math.Log(0.5 / 0.95) + 0.5 * Math.Log(0.5 / 0.05), divergence, 1e-12);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    public void AnAlphaOutsideZeroToOneIsRejected(double alpha)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new SkewReverseKl(alpha));

        Assert.Equal("alpha", error.ParamName);
    }

    private static Tensor Row(double[] probabilities) => tensor(Reference.Logs(probabilities)).reshape(1, probabilities.Length);
}
