using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// Forward KL, KL(p_teacher || q_student) = sum_c p_c (log p_c - log q_c): Hinton, Vinyals and
/// Dean, "Distilling the Knowledge in a Neural Network" (2015). Mass-covering: the student is
/// pushed to put probability wherever the teacher does.
/// </summary>
public sealed class ForwardKl : IDistillationLoss
{
    public const string LossName = "forward_kl";

    public string Name => LossName;

    public Tensor Divergence(Tensor teacherLogProbs, Tensor studentLogProbs)
    {
        // p * (log p - log q); where p is 0 the term is 0 (exp(-inf) * finite), so no NaN leaks in
        // as long as the teacher's log-probs are finite or -inf and the student's are finite.
        var p = teacherLogProbs.exp();
        var terms = p * (teacherLogProbs - studentLogProbs);
        return terms.nan_to_num(0.0).sum(1).mean();
    }
}
