using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Losses;

public sealed class ReverseKlTests
{
    private readonly ReverseKl kl = new();

    [Fact]
    public void ReverseKlOfTwoKnownDistributionsMatchesTheHandComputedValue()
    {
        using var scope = NewDisposeScope();
        var teacher = tensor(Reference.Logs([0.5, 0.5])).reshape(1, 2);
        var student = tensor(Reference.Logs([0.25, 0.75])).reshape(1, 2);

        var divergence = kl.Divergence(teacher, student).item<double>();

        // KL(q || p) = 0.25 ln(0.25 / 0.5) + 0.75 ln(0.75 / 0.5)
        Assert.Equal(0.25 * Math.Log(0.5) + 0.75 * Math.Log(1.5), divergence, 1e-12);
    }

    [Fact]
    public void ReverseKlIsInfiniteWhereOnlyTheStudentPutsMass()
    {
        using var scope = NewDisposeScope();
        var teacher = tensor(new[] { 0.0, double.NegativeInfinity }).reshape(1, 2);
        var student = tensor(Reference.Logs([0.9, 0.1])).reshape(1, 2);

        var divergence = kl.Divergence(teacher, student).item<double>();

        Assert.Equal(double.PositiveInfinity, divergence);
    }

    [Fact]
    public void ReverseKlIgnoresTokensWhereTheStudentPutsNoMass()
    {
        using var scope = NewDisposeScope();
        var teacher = tensor(Reference.Logs([0.2, 0.8])).reshape(1, 2);
        var student = tensor(new[] { double.NegativeInfinity, 0.0 }).reshape(1, 2);

        var divergence = kl.Divergence(teacher, student).item<double>();

        // q = [0, 1]: 0 ln(0 / 0.2) = 0, 1 ln(1 / 0.8).
        Assert.Equal(Math.Log(1 / 0.8), divergence, 1e-12);
    }

    [Fact]
    public void ReverseKlGradientIsTheStudentWeightedLogRatioMinusItsMean()
    {
        using var scope = NewDisposeScope();
        double[] z = [1.5, -0.5, 0.2];
        double[] p = [0.6, 0.1, 0.3];
        var logits = tensor(z).reshape(1, 3).requires_grad_();

        kl.Divergence(tensor(Reference.Logs(p)).reshape(1, 3), nn.functional.log_softmax(logits, 1)).backward();

        // d/dz_j KL(softmax(z) || p) = q_j (ln(q_j / p_j) - KL(q || p)).
        var q = Reference.Softmax(z);
        var divergence = Reference.Kl(q, p);
        var gradient = logits.grad!.data<double>().ToArray();
        for (int j = 0; j < 3; j++)
            Assert.Equal(q[j] * (Math.Log(q[j] / p[j]) - divergence), gradient[j], 1e-12);
    }
}
