using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Losses;

/// <summary>
/// What every divergence of the family must do, for dense, top-k and sampled targets, each checked
/// against <see cref="Reference"/>: the divergences written in plain doubles in probability space.
/// </summary>
public sealed class DivergenceFamilyTests
{
    // Three positions over a vocabulary of five; teacher and student differ everywhere.
    private static readonly double[][] TeacherLogits = [[1.0, 0.2, -0.5, 0.8, -1.2], [-0.3, 2.0, 0.1, -1.0, 0.4], [0.0, 0.0, 1.5, -2.0, 0.7]];
    private static readonly double[][] StudentLogits = [[0.3, 0.9, -0.1, -0.4, 0.5], [0.5, 1.0, -0.8, 0.2, 0.0], [1.2, -0.6, 0.3, 0.1, -0.9]];
    private static readonly double[][] P = TeacherLogits.Select(z => Reference.Softmax(z)).ToArray();
    private static readonly double[][] Q = StudentLogits.Select(z => Reference.Softmax(z)).ToArray();

    /// <summary>Every registered loss, the jsd at both ends of and inside its range, with the mixing weight the reference reads.</summary>
    public static TheoryData<string, double> Losses => new()
    {
        { "forward_kl", 0 }, { "reverse_kl", 0 },
        { "jsd", 0.5 }, { "jsd", 0.1 }, { "jsd", 0.9 }, { "jsd", 0 }, { "jsd", 1 },
        { "skew_kl", 0.1 }, { "skew_kl", 0.5 }, { "skew_reverse_kl", 0.1 }, { "skew_reverse_kl", 0.5 },
    };

    /// <summary>The losses whose sampled estimate is the average of <see cref="Reference.SampledTerm"/> (the jsd inside its range).</summary>
    public static TheoryData<string, double> SampledLosses => new()
    {
        { "forward_kl", 0 }, { "reverse_kl", 0 }, { "jsd", 0.5 }, { "jsd", 0.1 }, { "skew_kl", 0.1 }, { "skew_reverse_kl", 0.1 },
    };

    [Theory]
    [MemberData(nameof(Losses))]
    public void EveryDivergenceMatchesItsReferenceOnSmallDistributions(string name, double weight)
    {
        using var scope = NewDisposeScope();

        var divergence = Create(name, weight).Divergence(LogProbs(P), LogProbs(Q)).item<double>();

        Assert.Equal(Enumerable.Range(0, 3).Average(n => Reference.Divergence(name, P[n], Q[n], weight)), divergence, 1e-12);
    }

    [Theory]
    [MemberData(nameof(Losses))]
    public void EveryDivergenceIsZeroWhenStudentEqualsTeacher(string name, double weight)
    {
        using var scope = NewDisposeScope();
        var loss = Create(name, weight);
        var logProbs = LogProbs(P);

        var dense = loss.Divergence(logProbs, logProbs.clone()).item<double>();
        var topK = loss.Divergence(SparseTargets.TopK(logProbs, 2), logProbs.clone()).item<double>();
        var sampled = loss.Divergence(SparseTargets.FromSamples(FixedDraws, logProbs.gather(1, FixedDraws)), logProbs.clone()).item<double>();

        Assert.Equal(0.0, dense, 1e-15);
        Assert.Equal(0.0, topK, 1e-15);
        Assert.Equal(0.0, sampled, 1e-15);
    }

    [Theory]
    [MemberData(nameof(Losses))]
    public void TheDenseGradientMatchesFiniteDifferencesOfTheReference(string name, double weight)
    {
        using var scope = NewDisposeScope();
        var logits = Logits(StudentLogits).requires_grad_();

        Create(name, weight).Divergence(LogProbs(P), nn.functional.log_softmax(logits, 1)).backward();

        AssertMatchesFiniteDifferences(logits.grad!, (n, q) => Reference.Divergence(name, P[n], q, weight));
    }

    [Theory]
    [MemberData(nameof(Losses))]
    public void TopKWithKEqualToTheVocabularyIsTheDenseDivergenceWithTheSameGradient(string name, double weight)
    {
        using var scope = NewDisposeScope();
        var loss = Create(name, weight);
        var denseLogits = Logits(StudentLogits).requires_grad_();
        var sparseLogits = Logits(StudentLogits).requires_grad_();

        var dense = loss.Divergence(LogProbs(P), nn.functional.log_softmax(denseLogits, 1));
        var sparse = loss.Divergence(SparseTargets.TopK(LogProbs(P), 5), nn.functional.log_softmax(sparseLogits, 1));
        dense.backward();
        sparse.backward();

        // Both tail buckets are empty (log 0 = -inf on both sides) and must add nothing, not NaN.
        Assert.Equal(dense.item<double>(), sparse.item<double>(), 1e-14);
        var expected = denseLogits.grad!.data<double>().ToArray();
        var actual = sparseLogits.grad!.data<double>().ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-14);
    }

    [Theory]
    [MemberData(nameof(Losses))]
    public void TopKIsTheDivergenceOfTheBucketsAndNeverExceedsTheDenseOne(string name, double weight)
    {
        using var scope = NewDisposeScope();
        var loss = Create(name, weight);
        var logits = Logits(StudentLogits).requires_grad_();
        var targets = SparseTargets.TopK(LogProbs(P), 2);
        var ids = Rows(targets.Ids.to(ScalarType.Float64)).Select(r => r.Select(i => (int)i).ToArray()).ToArray();

        var sparse = loss.Divergence(targets, nn.functional.log_softmax(logits, 1));
        sparse.backward();

        // Buckets: the two kept tokens, and 1 - their sum for the rest, on both sides.
        double Buckets(int n, double[] q) => Reference.Divergence(name, Bucket(P[n], ids[n]), Bucket(q, ids[n]), weight);
        Assert.Equal(Enumerable.Range(0, 3).Average(n => Buckets(n, Q[n])), sparse.item<double>(), 1e-12);
        AssertMatchesFiniteDifferences(logits.grad!, Buckets);
        // Merging tokens loses information: an f-divergence of the buckets is at most the full one.
        var dense = loss.Divergence(LogProbs(P), LogProbs(Q)).item<double>();
        Assert.True(sparse.item<double>() <= dense + 1e-12, $"top-2 gave {sparse.item<double>()}, more than the dense {dense}");
    }

    [Theory]
    [MemberData(nameof(SampledLosses))]
    public void TheSampledEstimateIsTheMeanOfTheImportanceWeightedTermsAtTheDrawnTokens(string name, double weight)
    {
        using var scope = NewDisposeScope();
        var logits = Logits(StudentLogits).requires_grad_();
        var targets = SparseTargets.FromSamples(FixedDraws, LogProbs(P).gather(1, FixedDraws));
        var draws = Rows(FixedDraws.to(ScalarType.Float64)).Select(r => r.Select(i => (int)i).ToArray()).ToArray();

        var estimate = Create(name, weight).Divergence(targets, nn.functional.log_softmax(logits, 1));
        estimate.backward();

        double Estimate(int n, double[] q) => draws[n].Average(x => Reference.SampledTerm(name, P[n][x], q[x], weight));
        Assert.Equal(Enumerable.Range(0, 3).Average(n => Estimate(n, Q[n])), estimate.item<double>(), 1e-12);
        AssertMatchesFiniteDifferences(logits.grad!, Estimate);
    }

    [Theory]
    [MemberData(nameof(SampledLosses))]
    public void TheSampledEstimateIsUnbiased(string name, double weight)
    {
        using var scope = NewDisposeScope();
        const int copies = 10_000, k = 4;
        var generator = new Generator(2025, CPU);
        var teacher = LogProbs(P).repeat(copies, 1);
        var student = LogProbs(Q).repeat(copies, 1);

        var estimate = Create(name, weight).Divergence(SparseTargets.Sample(teacher, k, generator), student).item<double>();

        // The mean of 3 * copies independent estimates, each the mean of k terms g(x) = f(x) / p(x)
        // with x ~ p: its standard error follows from the variance of g under p, worked out exactly.
        var exact = Enumerable.Range(0, 3).Average(n => Reference.Divergence(name, P[n], Q[n], weight));
        var variance = Enumerable.Range(0, 3).Sum(n =>
        {
            var g = Enumerable.Range(0, 5).Select(x => Reference.SampledTerm(name, P[n][x], Q[n][x], weight)).ToArray();
            var mean = Enumerable.Range(0, 5).Sum(x => P[n][x] * g[x]);
            Assert.Equal(Reference.Divergence(name, P[n], Q[n], weight), mean, 1e-12);  // unbiased in expectation
            return Enumerable.Range(0, 5).Sum(x => P[n][x] * (g[x] - mean) * (g[x] - mean));
        });
        var standardError = Math.Sqrt(variance / (9.0 * copies * k));
        Assert.True(standardError < 0.05 * exact, $"standard error {standardError} is too large to test against {exact}");
        Assert.True(Math.Abs(estimate - exact) < 4 * standardError,
            $"estimate {estimate} is {Math.Abs(estimate - exact) / standardError:F1} standard errors from {exact}");
    }

    [Theory]
    [MemberData(nameof(Losses))]
    public void GradientsAreFiniteAndNonZeroForDenseTopKAndSampledTargets(string name, double weight)
    {
        using var scope = NewDisposeScope();
        var loss = Create(name, weight);
        var teacher = LogProbs(P).to(ScalarType.Float32);
        var targets = new Func<Tensor, Tensor>[]
        {
            student => loss.Divergence(teacher, student),
            student => loss.Divergence(SparseTargets.TopK(teacher, 2), student),
            student => loss.Divergence(SparseTargets.FromSamples(FixedDraws, teacher.gather(1, FixedDraws)), student),
        };

        foreach (var divergence in targets)
        {
            var logits = Logits(StudentLogits).to(ScalarType.Float32).requires_grad_();
            divergence(nn.functional.log_softmax(logits, 1)).backward();

            var gradient = logits.grad!.data<float>().ToArray();
            Assert.All(gradient, g => Assert.True(float.IsFinite(g), $"gradient {g} is not finite"));
            Assert.Contains(gradient, g => Math.Abs(g) > 1e-4);
        }
    }

    [Theory]
    [InlineData("forward_kl", 0)]
    [InlineData("jsd", 0.5)]
    [InlineData("skew_kl", 0.1)]
    [InlineData("skew_reverse_kl", 0.1)]
    public void DivergencesThatAllowATeacherZeroKeepFiniteGradientsThere(string name, double weight)
    {
        using var scope = NewDisposeScope();
        double[][] p = [[0.7, 0, 0.3, 0, 0], [0, 1, 0, 0, 0], [0.2, 0.2, 0.2, 0.2, 0.2]];
        var logits = tensor(new float[] { 30, -30, 0, 5, -2, 1, 2, 3, 4, 5, -60, 0, 60, 0, 0 }).reshape(3, 5).requires_grad_();

        var divergence = Create(name, weight).Divergence(LogProbs(p).to(ScalarType.Float32), nn.functional.log_softmax(logits, 1));
        divergence.backward();

        Assert.True(float.IsFinite(divergence.item<float>()), $"divergence {divergence.item<float>()} is not finite");
        Assert.All(logits.grad!.data<float>().ToArray(), g => Assert.True(float.IsFinite(g), $"gradient {g} is not finite"));
    }

    [Theory]
    [MemberData(nameof(Losses))]
    public void WeightsMakeAWeightedMeanOverPositionsAndWeightZeroLeavesAPositionOut(string name, double weight)
    {
        using var scope = NewDisposeScope();
        var loss = Create(name, weight);
        var reference = Enumerable.Range(0, 3).Select(n => Reference.Divergence(name, P[n], Q[n], weight)).ToArray();
        // Position 1 is padding: whatever the teacher holds there must not count.
        var teacher = LogProbs(P);
        teacher[1] = full(5, double.NaN, dtype: ScalarType.Float64);

        var masked = loss.Divergence(teacher, LogProbs(Q), tensor(new[] { 1.0, 0.0, 1.0 })).item<double>();
        var weighted = loss.Divergence(LogProbs(P), LogProbs(Q), tensor(new[] { 0.5, 2.0, 0.0 })).item<double>();
        var none = loss.Divergence(teacher, LogProbs(Q), tensor(new[] { 0.0, 0.0, 0.0 })).item<double>();
        var sparse = loss.Divergence(SparseTargets.TopK(LogProbs(P), 5), LogProbs(Q), tensor(new[] { 0.5, 2.0, 0.0 })).item<double>();

        Assert.Equal((reference[0] + reference[2]) / 2, masked, 1e-12);
        Assert.Equal((0.5 * reference[0] + 2.0 * reference[1]) / 2.5, weighted, 1e-12);
        Assert.Equal(0.0, none);
        Assert.Equal((0.5 * reference[0] + 2.0 * reference[1]) / 2.5, sparse, 1e-12);
    }

    [Fact]
    public void MismatchedShapesAreRejectedWithTheShapes()
    {
        using var scope = NewDisposeScope();
        var loss = new ReverseKl();

        var students = Assert.Throws<ArgumentException>(() => loss.Divergence(LogProbs(P), LogProbs(Q)[..2]));
        var weights = Assert.Throws<ArgumentException>(() => loss.Divergence(LogProbs(P), LogProbs(Q), ones(2)));
        var sparse = Assert.Throws<ArgumentException>(() => loss.Divergence(SparseTargets.TopK(LogProbs(P), 2), LogProbs(Q)[..2]));

        Assert.Contains("[3, 5]", students.Message);
        Assert.Contains("[2, 5]", students.Message);
        Assert.Contains("one value per position", weights.Message);
        Assert.Contains("3 positions", sparse.Message);
    }

    /// <summary>Four draws per position, repeats included, as a sampling teacher might send them.</summary>
    private static Tensor FixedDraws => tensor(new long[] { 0, 3, 0, 1, 1, 1, 4, 2, 2, 4, 0, 2 }).reshape(3, 4);

    private static IDistillationLoss Create(string name, double weight) =>
        DistillationLosses.Create(name, name is "forward_kl" or "reverse_kl" ? null : weight);

    private static Tensor Logits(double[][] rows) => tensor(Reference.Flatten(rows)).reshape(rows.Length, rows[0].Length);

    private static Tensor LogProbs(double[][] rows) => Logits(rows.Select(Reference.Logs).ToArray());

    private static double[][] Rows(Tensor matrix)
    {
        var values = matrix.data<double>().ToArray();
        int columns = (int)matrix.shape[1];
        return Enumerable.Range(0, (int)matrix.shape[0]).Select(r => values[(r * columns)..((r + 1) * columns)]).ToArray();
    }

    /// <summary>[p at ids..., 1 - their sum].</summary>
    private static double[] Bucket(double[] p, int[] ids) => [.. ids.Select(i => p[i]), 1 - ids.Sum(i => p[i])];

    /// <summary>
    /// Checks a gradient with respect to the student logits [3, 5] against central differences of
    /// the mean over positions of <paramref name="divergence"/>(position, softmax(logits)).
    /// </summary>
    private static void AssertMatchesFiniteDifferences(Tensor gradient, Func<int, double[], double> divergence)
    {
        const double h = 1e-6;
        var actual = gradient.data<double>().ToArray();
        for (int n = 0; n < 3; n++)
        for (int v = 0; v < 5; v++)
        {
            var up = (double[])StudentLogits[n].Clone();
            var down = (double[])StudentLogits[n].Clone();
            up[v] += h;
            down[v] -= h;
            var expected = (divergence(n, Reference.Softmax(up)) - divergence(n, Reference.Softmax(down))) / (2 * h) / 3;
            Assert.True(Math.Abs(expected - actual[n * 5 + v]) < 1e-7,
                $"d/dz[{n}, {v}]: autograd {actual[n * 5 + v]}, finite differences {expected}");
        }
    }
}
