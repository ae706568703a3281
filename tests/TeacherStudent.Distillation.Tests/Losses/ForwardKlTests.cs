using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Losses;

public sealed class ForwardKlTests
{
    private readonly ForwardKl kl = new();

    [Fact]
    public void ForwardKlOfTwoKnownDistributionsMatchesTheHandComputedValue()
    {
        using var scope = NewDisposeScope();
        var teacher = tensor(new[] { MathF.Log(0.5f), MathF.Log(0.5f) }).reshape(1, 2);
        var student = tensor(new[] { MathF.Log(0.25f), MathF.Log(0.75f) }).reshape(1, 2);

        var divergence = kl.Divergence(teacher, student).item<float>();

        // 0.5 ln(0.5 / 0.25) + 0.5 ln(0.5 / 0.75)
        double expected = 0.5 * Math.Log(2) + 0.5 * Math.Log(2.0 / 3.0);
        Assert.Equal(expected, divergence, 1e-6);
    }

    [Fact]
    public void ForwardKlIsTheMeanOverTheBatchOfThePerExampleDivergences()
    {
        using var scope = NewDisposeScope();
        double[][] p = [[0.5, 0.5], [0.1, 0.9]];
        double[][] q = [[0.25, 0.75], [0.6, 0.4]];
        var teacher = tensor(Reference.Flatten(p.Select(Reference.Logs).ToArray())).reshape(2, 2);
        var student = tensor(Reference.Flatten(q.Select(Reference.Logs).ToArray())).reshape(2, 2);

        var divergence = kl.Divergence(teacher, student).item<double>();

        double first = 0.5 * Math.Log(0.5 / 0.25) + 0.5 * Math.Log(0.5 / 0.75);
        double second = 0.1 * Math.Log(0.1 / 0.6) + 0.9 * Math.Log(0.9 / 0.4);
        Assert.Equal((first + second) / 2, divergence, 1e-12);
    }

    [Fact]
    public void ForwardKlIsZeroWhenStudentEqualsTeacher()
    {
        using var scope = NewDisposeScope();
        var logProbs = tensor(Reference.Flatten([
            Reference.Logs(Reference.Softmax([1.0, -2.0, 0.5])),
            Reference.Logs(Reference.Softmax([3.0, 3.0, -1.0])),
        ])).reshape(2, 3);

        var divergence = kl.Divergence(logProbs, logProbs.clone()).item<double>();

        Assert.Equal(0.0, divergence, 1e-15);
    }

    [Fact]
    public void ForwardKlIsPositiveWhenStudentDiffersFromTeacher()
    {
        using var scope = NewDisposeScope();
        var teacher = tensor(Reference.Logs([0.7, 0.2, 0.1])).reshape(1, 3);
        var student = tensor(Reference.Logs([0.2, 0.7, 0.1])).reshape(1, 3);

        var divergence = kl.Divergence(teacher, student).item<double>();

        Assert.True(divergence > 0.1, $"KL was {divergence}");
    }

    [Fact]
    public void ForwardKlTreatsATeacherProbabilityOfZeroAsContributingNothing()
    {
        using var scope = NewDisposeScope();
        // p = [0, 1]: log p = [-inf, 0], so p * (log p - log q) is 0 * -inf in the first class.
        var teacher = tensor(new[] { float.NegativeInfinity, 0f }).reshape(1, 2);
        var student = tensor(new[] { MathF.Log(0.3f), MathF.Log(0.7f) }).reshape(1, 2);

        var divergence = kl.Divergence(teacher, student).item<float>();

        Assert.False(float.IsNaN(divergence));
        Assert.Equal(-Math.Log(0.7), divergence, 1e-6);
    }

    [Fact]
    public void ForwardKlGradientIsFiniteWhenATeacherProbabilityIsZero()
    {
        using var scope = NewDisposeScope();
        var teacher = tensor(new[] { float.NegativeInfinity, 0f, float.NegativeInfinity }).reshape(1, 3);
        var logits = tensor(new[] { 2f, -1f, 0.5f }).reshape(1, 3).requires_grad_();

        kl.Divergence(teacher, nn.functional.log_softmax(logits, 1)).backward();

        // d/dz KL(p || softmax(z)) = softmax(z) - p, with p = [0, 1, 0].
        var q = Reference.Softmax([2.0, -1.0, 0.5]);
        var gradient = logits.grad!.data<float>().ToArray();
        Assert.All(gradient, g => Assert.True(float.IsFinite(g), $"gradient {g} is not finite"));
        Assert.Equal(q[0], gradient[0], 1e-6);
        Assert.Equal(q[1] - 1, gradient[1], 1e-6);
        Assert.Equal(q[2], gradient[2], 1e-6);
    }
}
