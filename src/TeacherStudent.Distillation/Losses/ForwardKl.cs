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
        // p * (log p - log q), with the term taken as 0 where the teacher gives probability 0
        // (log p = -inf; p log p -> 0 in the limit). Any other NaN or infinity shows in the loss.
        // The mask is built without a Scalar argument: see TorchScalars for why that matters.
        var p = teacherLogProbs.exp();
        var terms = where(teacherLogProbs.isneginf(), zeros_like(p), p * (teacherLogProbs - studentLogProbs));
        return terms.sum(1).mean();
    }
}
