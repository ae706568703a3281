using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// Generalized Jensen-Shannon divergence of Agarwal et al., "On-Policy Distillation of Language
/// Models: Learning from Self-Generated Mistakes" (GKD, ICLR 2024):
/// JSD_beta(p || q) = beta KL(p || m) + (1 - beta) KL(q || m), with m = beta p + (1 - beta) q,
/// p the teacher and q the student. beta = 0.5 is the usual (symmetric) JSD. For 0 &lt; beta &lt; 1
/// it is bounded (by ln 2 at beta = 0.5) and finite whatever the zeros of either side.
/// As beta -> 0 it vanishes like beta KL(p || q) and as beta -> 1 like (1 - beta) KL(q || p); as
/// GKD's reference code does (TRL's generalized_jsd_loss), beta = 0 is taken to mean forward
/// KL(p || q) and beta = 1 reverse KL(q || p), unscaled, rather than the degenerate 0.
/// Sampled estimator: (1/k) sum_i [beta (log p - log m) + (1 - beta) (q / p) (log q - log m)](x_i), x_i ~ p.
/// </summary>
public sealed class GeneralizedJsd : IDistillationLoss
{
    public const string LossName = "jsd";

    /// <summary>GKD's experiments use 0.1 to 0.9; 0.5 (TRL's default) is the symmetric JSD.</summary>
    public const double DefaultBeta = 0.5;

    private readonly LogMixture mixture;

    // Held for the loss's lifetime (see TorchScalars).
    private readonly Scalar betaScalar;
    private readonly Scalar oneMinusBeta;

    public GeneralizedJsd(double beta = DefaultBeta)
    {
        Beta = beta is >= 0 and <= 1
            ? beta
            : throw new ArgumentOutOfRangeException(nameof(beta), $"beta must be between 0 and 1, not {beta}.");
        mixture = new LogMixture(beta);
        betaScalar = beta.ToScalar();
        oneMinusBeta = (1 - beta).ToScalar();
    }

    /// <summary>The teacher's weight in the mixture m.</summary>
    public double Beta { get; }

    public string Name => LossName;

    public Tensor Divergence(Tensor teacherLogProbs, Tensor studentLogProbs, Tensor? weights = null) =>
        DivergenceEvaluation.Dense(Terms, teacherLogProbs, studentLogProbs, weights);

    public Tensor Divergence(SparseTargets teacher, Tensor studentLogProbs, Tensor? weights = null) =>
        DivergenceEvaluation.Sparse(Terms, teacher, studentLogProbs, weights);

    private Tensor Terms(Tensor p, Tensor q, Tensor? divisor)
    {
        if (Beta == 0) return LogSpace.Term(p, q, divisor);  // forward KL
        if (Beta == 1) return LogSpace.Term(q, p, divisor);  // reverse KL
        var m = mixture.Of(p, q);
        return LogSpace.Term(p, m, divisor).mul(betaScalar).add(LogSpace.Term(q, m, divisor).mul(oneMinusBeta), TorchScalars.One);
    }
}
