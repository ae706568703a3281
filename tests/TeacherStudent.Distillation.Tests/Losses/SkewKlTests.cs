using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Losses;

public sealed class SkewKlTests
{
    [Fact]
    public void SkewKlAtAlphaPointOneMatchesTheHandComputedValue()
    {
        using var scope = NewDisposeScope();

        var divergence = new SkewKl(0.1).Divergence(Row([0.5, 0.5]), Row([0.25, 0.75])).item<double>();

        // m = 0.1 p + 0.9 q = [0.275, 0.725]; KL(p || m).
        Assert.Equal(0.5 * Math.Log(0.5 / 0.275) + 0.5 * Math.Log(0.5 / 0.725), divergence, 1e-12);
    }

    [Fact]
    public void SkewKlAtAlphaZeroIsForwardKl()
    {
        using var scope = NewDisposeScope();

        var divergence = new SkewKl(0).Divergence(Row([0.5, 0.5]), Row([0.25, 0.75])).item<double>();

        Assert.Equal(0.5 * Math.Log(0.5 / 0.25) + 0.5 * Math.Log(0.5 / 0.75), divergence, 1e-12);
    }

    [Fact]
    public void SkewKlStaysFiniteWhereTheStudentPutsNoMass()
    {
        using var scope = NewDisposeScope();
        var student = tensor(new[] { 0.0, double.NegativeInfinity }).reshape(1, 2);

        var divergence = new SkewKl(0.1).Divergence(Row([0.5, 0.5]), student).item<double>();

        // q = [1, 0]: m = 0.1 p + 0.9 q = [0.95, 0.05].
        Assert.Equal(0.5 * Math.Log(0.5 / 0.95) + 0.5 * Math.Log(0.5 / 0.05), divergence, 1e-12);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    public void AnAlphaOutsideZeroToOneIsRejected(double alpha)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new SkewKl(alpha));

        Assert.Equal("alpha", error.ParamName);
    }

    private static Tensor Row(double[] probabilities) => tensor(Reference.Logs(probabilities)).reshape(1, probabilities.Length);
}
