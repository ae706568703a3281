using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Losses;

public sealed class GeneralizedJsdTests
{
    private static readonly double[] P = [0.5, 0.5];
    private static readonly double[] Q = [0.25, 0.75];

    [Fact]
    public void JsdAtBetaOneHalfMatchesTheHandComputedValue()
    {
        using var scope = NewDisposeScope();

        var divergence = new GeneralizedJsd(0.5).Divergence(Row(P), Row(Q)).item<double>();

        // m = (p + q) / 2 = [0.375, 0.625]; 0.5 KL(p || m) + 0.5 KL(q || m).
        double klP = 0.5 * Math.Log(0.5 / 0.375) + 0.5 * Math.Log(0.5 / 0.625);
        double klQ = 0.25 * Math.Log(0.25 / 0.375) + 0.75 * Math.Log(0.75 / 0.625);
        Assert.Equal(0.5 * klP + 0.5 * klQ, divergence, 1e-12);
    }

    [Fact]
    public void JsdAtBetaPointNineWeighsTheTeacherInTheMixtureAndInTheSum()
    {
        using var scope = NewDisposeScope();

        var divergence = new GeneralizedJsd(0.9).Divergence(Row(P), Row(Q)).item<double>();

        // m = 0.9 p + 0.1 q = [0.475, 0.525]; 0.9 KL(p || m) + 0.1 KL(q || m).
        double klP = 0.5 * Math.Log(0.5 / 0.475) + 0.5 * Math.Log(0.5 / 0.525);
        double klQ = 0.25 * Math.Log(0.25 / 0.475) + 0.75 * Math.Log(0.75 / 0.525);
        Assert.Equal(0.9 * klP + 0.1 * klQ, divergence, 1e-12);
    }

    [Fact]
    public void JsdOfDisjointDistributionsIsLnTwo()
    {
        using var scope = NewDisposeScope();
        // p = [1, 0], q = [0, 1]: each half of the mixture [0.5, 0.5] is ln 2 away.
        var teacher = tensor(new[] { 0.0, double.NegativeInfinity }).reshape(1, 2);
        var student = tensor(new[] { double.NegativeInfinity, 0.0 }).reshape(1, 2);

        var divergence = new GeneralizedJsd(0.5).Divergence(teacher, student).item<double>();

        Assert.Equal(Math.Log(2), divergence, 1e-12);
    }

    [Fact]
    public void JsdAtBetaZeroIsForwardKlAndAtBetaOneReverseKlAsInGkd()
    {
        using var scope = NewDisposeScope();

        var atZero = new GeneralizedJsd(0).Divergence(Row(P), Row(Q)).item<double>();
        var atOne = new GeneralizedJsd(1).Divergence(Row(P), Row(Q)).item<double>();

        Assert.Equal(0.5 * Math.Log(0.5 / 0.25) + 0.5 * Math.Log(0.5 / 0.75), atZero, 1e-12);
        Assert.Equal(0.25 * Math.Log(0.25 / 0.5) + 0.75 * Math.Log(0.75 / 0.5), atOne, 1e-12);
    }

    [Fact]
    public void JsdNearBetaZeroIsBetaTimesForwardKlAndNearOneIsTheRestTimesReverseKl()
    {
        using var scope = NewDisposeScope();
        const double small = 1e-5;

        var nearZero = new GeneralizedJsd(small).Divergence(Row(P), Row(Q)).item<double>();
        var nearOne = new GeneralizedJsd(1 - small).Divergence(Row(P), Row(Q)).item<double>();

        // The limits that beta = 0 and beta = 1 stand for, up to O(beta^2).
        Assert.Equal(Reference.Kl(P, Q), nearZero / small, 1e-4);
        Assert.Equal(Reference.Kl(Q, P), nearOne / small, 1e-4);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.1)]
    [InlineData(double.NaN)]
    public void ABetaOutsideZeroToOneIsRejected(double beta)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new GeneralizedJsd(beta));

        Assert.Equal("beta", error.ParamName);
    }

    private static Tensor Row(double[] probabilities) => tensor(Reference.Logs(probabilities)).reshape(1, probabilities.Length);
}
