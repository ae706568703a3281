using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// A divergence between the teacher's and the student's distributions at temperature T,
/// both given as log-probabilities [B, C]. Returns the mean over the batch of the per-example
/// divergence (a scalar), differentiable in the student.
/// </summary>
public interface IDistillationLoss
{
    /// <summary>The name it is chosen by in options.</summary>
    string Name { get; }

    /// <summary>Mean over the batch of D(teacher || student).</summary>
    Tensor Divergence(Tensor teacherLogProbs, Tensor studentLogProbs);
}
