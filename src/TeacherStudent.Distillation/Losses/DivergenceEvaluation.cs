using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// The summand f(x) of a divergence D(p || q) = sum_x f(p(x), q(x)) at every token, from the
/// teacher's log p and the student's log q (same shape), divided by w(x) where log w is given.
/// Every divergence here has this form, which is what lets one summand serve dense targets
/// (summed over V), top-k buckets (summed over k + 1) and sampled tokens (averaged with w = p).
/// </summary>
internal delegate Tensor DivergenceTerms(Tensor teacherLogProbs, Tensor studentLogProbs, Tensor? logDivisor);

/// <summary>Evaluates a divergence, given by its <see cref="DivergenceTerms"/>, against dense or sparse targets.</summary>
internal static class DivergenceEvaluation
{
    /// <summary>
    /// (Weighted) mean over positions of sum_x f(x), for teacher and student log-probabilities [N, V].
    /// </summary>
    public static Tensor Dense(DivergenceTerms terms, Tensor teacherLogProbs, Tensor studentLogProbs, Tensor? weights)
    {
        if (!teacherLogProbs.shape.SequenceEqual(studentLogProbs.shape))
            throw new ArgumentException(
                $"teacher [{string.Join(", ", teacherLogProbs.shape)}] and student [{string.Join(", ", studentLogProbs.shape)}] log-probabilities must have the same shape.");
        var teacher = SameType(teacherLogProbs, studentLogProbs);
        return PositionWeights.Mean(terms(teacher, studentLogProbs, null).sum(-1), weights);
    }

    /// <summary>
    /// (Weighted) mean over positions of the divergence against sparse targets: top-k exactly on
    /// the (k + 1)-bucket distributions; sampled as (1/k) sum_i f(x_i) / p(x_i).
    /// </summary>
    public static Tensor Sparse(DivergenceTerms terms, SparseTargets teacher, Tensor studentLogProbs, Tensor? weights)
    {
        if (studentLogProbs.dim() != 2 || studentLogProbs.shape[0] != teacher.Ids.shape[0])
            throw new ArgumentException(
                $"student log-probabilities [{string.Join(", ", studentLogProbs.shape)}] must be [positions, vocabulary] with the {teacher.Ids.shape[0]} positions of the targets.");
        var ids = teacher.LongIds();
        var teacherAtIds = SameType(teacher.LogProbs, studentLogProbs);
        var studentAtIds = studentLogProbs.gather(-1, ids);
        var perPosition = teacher.Kind switch
        {
            SparseTargetKind.TopK => terms(
                cat([teacherAtIds, SameType(teacher.TailLogMass!, studentLogProbs).unsqueeze(-1)], -1),
                cat([studentAtIds, LogSpace.MassOutside(studentLogProbs, ids).unsqueeze(-1)], -1),
                null).sum(-1),
            // E_{x~p}[f(x) / p(x)] = sum_x f(x) wherever p > 0 (a softmax teacher is positive
            // everywhere). The draws do not depend on the student, so the gradient is unbiased too.
            SparseTargetKind.Sampled => terms(teacherAtIds, studentAtIds, teacherAtIds).mean([-1]),
            _ => throw new ArgumentOutOfRangeException(nameof(teacher), $"unknown sparse target kind {teacher.Kind}."),
        };
        return PositionWeights.Mean(perPosition, weights);
    }

    /// <summary>The teacher's values in the student's dtype (the wire may bring float16).</summary>
    private static Tensor SameType(Tensor teacher, Tensor student) =>
        teacher.dtype == student.dtype ? teacher : teacher.to(student.dtype);
}
