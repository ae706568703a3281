using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Losses;

public sealed class UniversalLogitDistillationTests
{
    private static Tensor Rows(params double[][] probabilities) =>
        tensor(Reference.Flatten(probabilities.Select(Reference.Logs).ToArray())).reshape(probabilities.Length, probabilities[0].Length);

    private static double Distance(double[] student, double[] teacher, double? tail = null)
    {
        var tailTensor = tail is { } m ? tensor(new[] { Math.Log(m) }) : null;
        return UniversalLogitDistillation.Distance(Rows(student), Rows(teacher), tailTensor).item<double>();
    }

    [Fact]
    public void TheDistanceOfOneVocabularyIsTheL1NormBetweenTheSortedProbabilities()
    {
        using var scope = NewDisposeScope();

        // Sorted: [0.5, 0.3, 0.2] against [0.6, 0.2, 0.2]: |0.5 - 0.6| + |0.3 - 0.2| + 0 = 0.2.
        var distance = Distance([0.3, 0.5, 0.2], [0.2, 0.6, 0.2]);

        Assert.Equal(0.2, distance, 1e-12);
    }

    [Fact]
    public void AStudentWithMoreTokensComparesItsExtraOnesWithZeros()
    {
        using var scope = NewDisposeScope();

        // [0.5, 0.3, 0.2] against [0.7, 0.3, (0)]: 0.2 + 0 + 0.2 = 0.4.
        var distance = Distance([0.2, 0.3, 0.5], [0.3, 0.7]);

        Assert.Equal(0.4, distance, 1e-12);
    }

    [Fact]
    public void ATeacherWithMoreTokensComparesItsExtraOnesWithZeros()
    {
        using var scope = NewDisposeScope();

        // [0.6, 0.4, (0)] against [0.5, 0.3, 0.2]: 0.1 + 0.1 + 0.2 = 0.4.
        var distance = Distance([0.4, 0.6], [0.3, 0.2, 0.5]);

        Assert.Equal(0.4, distance, 1e-12);
    }

    [Fact]
    public void TopKTargetsCompareTheirTailMassWithTheStudentsMassOutsideItsLargest()
    {
        using var scope = NewDisposeScope();

        // The teacher's top 1 is 0.6 with 0.4 outside; the student's largest is 0.5 with 0.5 outside:
        // |0.5 - 0.6| + |0.5 - 0.4| = 0.2.
        var top1 = Distance([0.3, 0.5, 0.2], [0.6], tail: 0.4);
        // Top 2 of the same teacher ([0.6, 0.25], 0.15 outside): 0.1 + |0.3 - 0.25| + |0.2 - 0.15| = 0.2.
        var top2 = Distance([0.3, 0.5, 0.2], [0.25, 0.6], tail: 0.15);

        Assert.Equal(0.2, top1, 1e-12);
        Assert.Equal(0.2, top2, 1e-12);
    }

    [Fact]
    public void TheDistanceIgnoresWhichTokenHoldsWhichProbability()
    {
        using var scope = NewDisposeScope();

        // The same shape over different tokens (a vocabulary permuted): nothing to learn.
        var distance = Distance([0.1, 0.7, 0.2], [0.7, 0.2, 0.1]);

        Assert.Equal(0, distance, 1e-12);
    }

    [Fact]
    public void EveryPositionHasItsOwnDistance()
    {
        using var scope = NewDisposeScope();
        var student = Rows([0.3, 0.5, 0.2], [0.5, 0.5, 1e-300]);
        var teacher = Rows([0.2, 0.6, 0.2], [0.9, 0.05, 0.05]);

        var distances = UniversalLogitDistillation.Distance(student, teacher, null).data<double>().ToArray();

        Assert.Equal(2, distances.Length);
        Assert.Equal(0.2, distances[0], 1e-12);
        Assert.Equal(0.9, distances[1], 1e-12); // |0.5 - 0.9| + |0.5 - 0.05| + |0 - 0.05|
    }

    [Fact]
    public void TheGradientMovesTheStudentsLargestProbabilityTowardsTheTeachers()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new[] { 2.0, 0.0, -1.0 }).reshape(1, 3).requires_grad_();
        var teacher = Rows([0.9, 0.05, 0.05]);

        UniversalLogitDistillation.Distance(nn.functional.log_softmax(logits, 1), teacher, null).sum().backward();

        // The student's largest (token 0, about 0.84) is below the teacher's 0.9: descending raises its logit.
        var gradient = logits.grad!.data<double>().ToArray();
        Assert.True(gradient[0] < 0, $"the gradient of the largest logit is {gradient[0]}, not negative");
    }
}
