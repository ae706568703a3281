using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// Reverse KL, KL(q_student || p_teacher) = sum_x q(x) (log q(x) - log p(x)): Gu, Dong, Wei and
/// Huang, "MiniLLM: Knowledge Distillation of Large Language Models" (ICLR 2024). Mode-seeking:
/// the student is punished for putting mass where the teacher puts little, and may ignore some of
/// the teacher's modes. Infinite where the teacher gives probability 0 and the student does not.
/// Sampled estimator: (1/k) sum_i (q(x_i) / p(x_i)) (log q(x_i) - log p(x_i)), x_i ~ p.
/// </summary>
public sealed class ReverseKl : IDistillationLoss
{
    public const string LossName = "reverse_kl";

    public string Name => LossName;

    public Tensor Divergence(Tensor teacherLogProbs, Tensor studentLogProbs, Tensor? weights = null) =>
        DivergenceEvaluation.Dense(Terms, teacherLogProbs, studentLogProbs, weights);

    public Tensor Divergence(SparseTargets teacher, Tensor studentLogProbs, Tensor? weights = null) =>
        DivergenceEvaluation.Sparse(Terms, teacher, studentLogProbs, weights);

    // q (log q - log p)
    private static Tensor Terms(Tensor p, Tensor q, Tensor? divisor) => LogSpace.Term(q, p, divisor);
}
