using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Losses;

public sealed class DistillationObjectiveTests
{
    // Two examples of three classes, in doubles so that the expected values are exact to ~1e-15.
    private static readonly double[][] StudentLogits = [[1.0, 2.0, 3.0], [0.5, -1.0, 2.5]];
    private static readonly double[][] TeacherLogits = [[4.0, 1.0, -2.0], [0.0, 3.0, 1.0]];

    [Fact]
    public void AlphaZeroGivesPlainCrossEntropyOnTheLabels()
    {
        using var scope = NewDisposeScope();
        var objective = new DistillationObjective(new ForwardKl(), temperature: 2, alpha: 0);

        var loss = objective.Compute(Logits(StudentLogits), TeacherLogProbs(2), Labels(2, 0)).item<double>();

        // CE of [1, 2, 3] at label 2 is ln(e + e^2 + e^3) - 3; of [0.5, -1, 2.5] at label 0 is ln(e^0.5 + e^-1 + e^2.5) - 0.5.
        double first = Math.Log(Math.E + Math.Exp(2) + Math.Exp(3)) - 3;
        double second = Math.Log(Math.Exp(0.5) + Math.Exp(-1) + Math.Exp(2.5)) - 0.5;
        Assert.Equal((first + second) / 2, loss, 1e-12);
    }

    [Fact]
    public void WithoutTeacherTargetsTheObjectiveIsCrossEntropyWhateverAlpha()
    {
        using var scope = NewDisposeScope();
        var objective = new DistillationObjective(new ForwardKl(), temperature: 4, alpha: 0.9);

        var loss = objective.Compute(Logits(StudentLogits), null, Labels(1, 1)).item<double>();

        double expected = (Reference.CrossEntropy(StudentLogits[0], 1) + Reference.CrossEntropy(StudentLogits[1], 1)) / 2;
        Assert.Equal(expected, loss, 1e-12);
    }

    [Fact]
    public void AlphaOneAtTemperatureOneGivesTheKlOfThePlainSoftmaxes()
    {
        using var scope = NewDisposeScope();
        var objective = new DistillationObjective(new ForwardKl(), temperature: 1, alpha: 1);

        var loss = objective.Compute(Logits(StudentLogits), TeacherLogProbs(1), Labels(0, 1)).item<double>();

        Assert.Equal(HandKl(1), loss, 1e-12);
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(4.0)]
    [InlineData(0.5)]
    public void TheSoftTermAtTemperatureTIsTSquaredTimesTheKlOfTheTemperedDistributions(double temperature)
    {
        using var scope = NewDisposeScope();
        var objective = new DistillationObjective(new ForwardKl(), temperature, alpha: 1);

        var loss = objective.Compute(Logits(StudentLogits), TeacherLogProbs(temperature), Labels(0, 1)).item<double>();

        Assert.Equal(temperature * temperature * HandKl(temperature), loss, 1e-12);
    }

    [Fact]
    public void AlphaBlendsTheSoftAndTheHardTerm()
    {
        using var scope = NewDisposeScope();
        const double T = 3, alpha = 0.25;
        var objective = new DistillationObjective(new ForwardKl(), T, alpha);

        var loss = objective.Compute(Logits(StudentLogits), TeacherLogProbs(T), Labels(2, 1)).item<double>();

        double ce = (Reference.CrossEntropy(StudentLogits[0], 2) + Reference.CrossEntropy(StudentLogits[1], 1)) / 2;
        Assert.Equal(alpha * T * T * HandKl(T) + (1 - alpha) * ce, loss, 1e-12);
    }

    [Fact]
    public void CrossEntropyIsAveragedOnlyOverLabelledExamples()
    {
        using var scope = NewDisposeScope();
        double[][] logits = [[1.0, 2.0, 3.0], [9.0, -9.0, 0.0], [0.5, -1.0, 2.5]];

        var loss = DistillationObjective.CrossEntropyOnLabelled(Logits(logits), Labels(2, DistillationObjective.NoLabel, 0)).item<double>();

        // The middle example has no label: it neither adds to the sum nor counts in the mean.
        double expected = (Reference.CrossEntropy(logits[0], 2) + Reference.CrossEntropy(logits[2], 0)) / 2;
        Assert.Equal(expected, loss, 1e-12);
    }

    [Fact]
    public void CrossEntropyIsZeroWhenNoExampleIsLabelled()
    {
        using var scope = NewDisposeScope();

        var loss = DistillationObjective.CrossEntropyOnLabelled(Logits(StudentLogits), Labels(-1, -1)).item<double>();

        Assert.Equal(0.0, loss);
    }

    [Fact]
    public void TheGradientOfTheSoftTermIsAlphaTimesTTimesTheDifferenceOfTheTemperedDistributionsOverTheBatch()
    {
        using var scope = NewDisposeScope();
        const double T = 4, alpha = 0.7;
        var objective = new DistillationObjective(new ForwardKl(), T, alpha);
        var logits = Logits(StudentLogits).requires_grad_();

        // No labels, so only the soft term has a gradient.
        objective.Compute(logits, TeacherLogProbs(T), Labels(-1, -1)).backward();

        // d/dz of alpha T^2 KL(p_T || softmax(z / T)) averaged over B = alpha T (softmax(z / T) - p_T) / B.
        var gradient = logits.grad!.data<double>().ToArray();
        for (int b = 0; b < 2; b++)
        {
            var q = Reference.Softmax(StudentLogits[b], T);
            var p = Reference.Softmax(TeacherLogits[b], T);
            for (int c = 0; c < 3; c++)
                Assert.Equal(alpha * T * (q[c] - p[c]) / 2, gradient[b * 3 + c], 1e-12);
        }
    }

    [Fact]
    public void TheGradientOfTheWholeObjectiveAddsTheCrossEntropyGradientOfTheLabelledExamplesOnly()
    {
        using var scope = NewDisposeScope();
        const double T = 2, alpha = 0.5;
        var objective = new DistillationObjective(new ForwardKl(), T, alpha);
        var logits = Logits(StudentLogits).requires_grad_();

        objective.Compute(logits, TeacherLogProbs(T), Labels(1, DistillationObjective.NoLabel)).backward();

        // Soft: alpha T (q_T - p_T) / B over both examples. Hard: (1 - alpha)(softmax(z) - onehot(y)) / 1 on the labelled one.
        var gradient = logits.grad!.data<double>().ToArray();
        var soft0 = Subtract(Reference.Softmax(StudentLogits[0], T), Reference.Softmax(TeacherLogits[0], T));
        var soft1 = Subtract(Reference.Softmax(StudentLogits[1], T), Reference.Softmax(TeacherLogits[1], T));
        var hard0 = Subtract(Reference.Softmax(StudentLogits[0]), [0, 1, 0]);
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal(alpha * T * soft0[c] / 2 + (1 - alpha) * hard0[c], gradient[c], 1e-12);
            Assert.Equal(alpha * T * soft1[c] / 2, gradient[3 + c], 1e-12);
        }
    }

    [Fact]
    public void GradientsStayFiniteForExtremeLogitsAndTeacherZeros()
    {
        using var scope = NewDisposeScope();
        var objective = new DistillationObjective(new ForwardKl(), temperature: 4, alpha: 0.9);
        var logits = tensor(new[] { 80f, -80f, 0f, -60f, 70f, 5f }).reshape(2, 3).requires_grad_();
        var teacher = tensor(new[] { 0f, float.NegativeInfinity, float.NegativeInfinity, MathF.Log(0.5f), MathF.Log(0.5f), float.NegativeInfinity })
            .reshape(2, 3);

        var loss = objective.Compute(logits, teacher, tensor(new long[] { 1, 0 }));
        loss.backward();

        Assert.True(float.IsFinite(loss.item<float>()), $"loss {loss.item<float>()} is not finite");
        Assert.All(logits.grad!.data<float>().ToArray(), g => Assert.True(float.IsFinite(g), $"gradient {g} is not finite"));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void ATemperatureThatIsNotAFinitePositiveNumberIsRejected(double temperature)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new DistillationObjective(new ForwardKl(), temperature, 0.5));

        Assert.Equal("temperature", error.ParamName);
        Assert.Contains("above 0", error.Message);
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void AnAlphaOutsideZeroToOneIsRejected(double alpha)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new DistillationObjective(new ForwardKl(), 4, alpha));

        Assert.Equal("alpha", error.ParamName);
        Assert.Contains("between 0 and 1", error.Message);
    }

    private static Tensor Logits(double[][] rows) => tensor(Reference.Flatten(rows)).reshape(rows.Length, rows[0].Length);

    private static Tensor Labels(params long[] labels) => tensor(labels);

    /// <summary>log softmax(teacher logits / T), computed in doubles as a teacher would send it.</summary>
    private static Tensor TeacherLogProbs(double temperature) =>
        Logits(TeacherLogits.Select(t => Reference.Logs(Reference.Softmax(t, temperature))).ToArray());

    /// <summary>Mean over the two examples of KL(softmax(t / T) || softmax(s / T)).</summary>
    private static double HandKl(double temperature) =>
        Enumerable.Range(0, 2).Average(b =>
            Reference.Kl(Reference.Softmax(TeacherLogits[b], temperature), Reference.Softmax(StudentLogits[b], temperature)));

    private static double[] Subtract(double[] a, double[] b) => a.Zip(b, (x, y) => x - y).ToArray();
}
