using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// Forward KL, KL(p_teacher || q_student) = sum_x p(x) (log p(x) - log q(x)): Hinton, Vinyals and
/// Dean, "Distilling the Knowledge in a Neural Network" (2015). Mass-covering: the student is
/// pushed to put probability wherever the teacher does. A teacher probability of 0 contributes 0.
/// Sampled estimator: (1/k) sum_i (log p(x_i) - log q(x_i)), x_i ~ p.
/// </summary>
public sealed class ForwardKl : IDistillationLoss
{
    public const string LossName = "forward_kl";

    public string Name => LossName;

    public Tensor Divergence(Tensor teacherLogProbs, Tensor studentLogProbs, Tensor? weights = null) =>
        DivergenceEvaluation.Dense(Terms, teacherLogProbs, studentLogProbs, weights);

    public Tensor Divergence(SparseTargets teacher, Tensor studentLogProbs, Tensor? weights = null) =>
        DivergenceEvaluation.Sparse(Terms, teacher, studentLogProbs, weights);

    // p (log p - log q)
    private static Tensor Terms(Tensor p, Tensor q, Tensor? divisor) => LogSpace.Term(p, q, divisor);
}
