using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// Skew KL of Ko et al., "DistiLLM: Towards Streamlined Distillation for Large Language Models"
/// (ICML 2024): SKL_alpha(p || q) = KL(p || alpha p + (1 - alpha) q), p the teacher and q the
/// student. Forward KL at alpha = 0; the teacher's share in the second argument keeps it finite
/// and its gradients tame where the student puts almost no mass.
/// Sampled estimator: (1/k) sum_i (log p(x_i) - log m(x_i)), x_i ~ p, m = alpha p + (1 - alpha) q.
/// </summary>
public sealed class SkewKl : IDistillationLoss
{
    public const string LossName = "skew_kl";

    /// <summary>DistiLLM's choice.</summary>
    public const double DefaultAlpha = 0.1;

    private readonly LogMixture mixture;

    public SkewKl(double alpha = DefaultAlpha)
    {
        Alpha = SkewAlpha.Check(alpha);
        mixture = new LogMixture(alpha);
    }

    /// <summary>The teacher's weight in the skewed student distribution.</summary>
    public double Alpha { get; }

    public string Name => LossName;

    public Tensor Divergence(Tensor teacherLogProbs, Tensor studentLogProbs, Tensor? weights = null) =>
        DivergenceEvaluation.Dense(Terms, teacherLogProbs, studentLogProbs, weights);

    public Tensor Divergence(SparseTargets teacher, Tensor studentLogProbs, Tensor? weights = null) =>
        DivergenceEvaluation.Sparse(Terms, teacher, studentLogProbs, weights);

    // p (log p - log (alpha p + (1 - alpha) q))
    private Tensor Terms(Tensor p, Tensor q, Tensor? divisor) => LogSpace.Term(p, mixture.Of(p, q), divisor);
}

/// <summary>The range check shared by the two skew divergences.</summary>
internal static class SkewAlpha
{
    /// <summary>alpha in [0, 1); at 1 the divergence is identically 0 and teaches nothing.</summary>
    public static double Check(double alpha) => alpha is >= 0 and < 1
        ? alpha
        : throw new ArgumentOutOfRangeException(nameof(alpha), $"alpha must be at least 0 and below 1, not {alpha}.");
}
