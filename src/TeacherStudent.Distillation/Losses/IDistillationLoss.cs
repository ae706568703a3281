using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// A divergence D(teacher || student) between the teacher's and the student's distributions at
/// temperature T over the last dimension, given as log-probabilities [N, V] (N examples, or the
/// positions of a batch of sequences flattened by the caller). Returns the mean over positions
/// of the per-position divergence (a scalar), differentiable in the student. Optional weights
/// [N] make it a weighted mean, sum_n w_n D_n / sum_n w_n; a 0/1 mask leaves out padding.
/// </summary>
public interface IDistillationLoss
{
    /// <summary>The name it is chosen by in options.</summary>
    string Name { get; }

    /// <summary>(Weighted) mean over positions of D(teacher || student), exactly.</summary>
    Tensor Divergence(Tensor teacherLogProbs, Tensor studentLogProbs, Tensor? weights = null);

    /// <summary>
    /// (Weighted) mean over positions of D(teacher || student) when only part of the teacher's
    /// distribution is known. Top-k targets: D computed exactly between the (k + 1)-bucket
    /// distributions (the k tokens and one tail bucket; the student's tail is the mass it puts
    /// outside those k). Sampled targets: D = sum_x f(x) estimated without bias as
    /// (1/k) sum_i f(x_i) / p(x_i) over the k draws x_i ~ p (see each loss for its estimator).
    /// </summary>
    Tensor Divergence(SparseTargets teacher, Tensor studentLogProbs, Tensor? weights = null);
}
