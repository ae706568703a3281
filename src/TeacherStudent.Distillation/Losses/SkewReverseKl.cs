using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// Skew reverse KL of Ko et al., "DistiLLM: Towards Streamlined Distillation for Large Language
/// Models" (ICML 2024): SRKL_alpha(p || q) = KL(q || (1 - alpha) p + alpha q), p the teacher and
/// q the student. Reverse KL at alpha = 0; finite even where the teacher gives probability 0.
/// Sampled estimator: (1/k) sum_i (q(x_i) / p(x_i)) (log q(x_i) - log m(x_i)), x_i ~ p,
/// m = (1 - alpha) p + alpha q.
/// </summary>
public sealed class SkewReverseKl : IDistillationLoss
{
    public const string LossName = "skew_reverse_kl";

    /// <summary>DistiLLM's choice.</summary>
    public const double DefaultAlpha = 0.1;

    private readonly LogMixture mixture;

    public SkewReverseKl(double alpha = DefaultAlpha)
    {
        Alpha = SkewAlpha.Check(alpha);
        mixture = new LogMixture(1 - alpha);
    }

    /// <summary>The student's weight in the skewed teacher distribution.</summary>
    public double Alpha { get; }

    public string Name => LossName;

    public Tensor Divergence(Tensor teacherLogProbs, Tensor studentLogProbs, Tensor? weights = null) =>
        DivergenceEvaluation.Dense(Terms, teacherLogProbs, studentLogProbs, weights);

    public Tensor Divergence(SparseTargets teacher, Tensor studentLogProbs, Tensor? weights = null) =>
        DivergenceEvaluation.Sparse(Terms, teacher, studentLogProbs, weights);

    // q (log q - log ((1 - alpha) p + alpha q))
    private Tensor Terms(Tensor p, Tensor q, Tensor? divisor) => LogSpace.Term(q, mixture.Of(p, q), divisor);
}
