using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// The Universal Logit Distillation loss (Boizard et al. 2024, "Towards Cross-Tokenizer Distillation"):
/// a teacher and a student whose vocabularies differ cannot compare probabilities token by token, but
/// they can compare the shapes of their distributions. Each position's probabilities are sorted from
/// the largest down, the shorter vector padded with zeros, and the distance is the L1 norm of the
/// difference: the closed form of the Wasserstein-1 distance the paper takes with a uniform cost.
/// <para>
/// Against a teacher's top-k targets (its k largest probabilities and the mass m outside them) the
/// distance is <c>sum_{i &lt;= k} |s_(i) - t_(i)| + |(1 - sum_{i &lt;= k} s_(i)) - m|</c>, s_(i) the
/// student's i-th largest probability: the exact ULD distance between the student and the teacher
/// with its tail gathered into one bucket, a lower bound of the full one (triangle inequality) and
/// equal to it with dense targets (k = V, m = 0). When k exceeds the student's vocabulary V_s, the
/// student's missing entries count as zeros.
/// </para>
/// Call inside a dispose scope.
/// </summary>
public static class UniversalLogitDistillation
{
    /// <summary>The name <c>train-lm --loss</c> gives it.</summary>
    public const string LossName = "uld";

    /// <summary>
    /// The distance at each of N positions [N]: the student's log-probabilities <paramref name="studentLogProbs"/>
    /// [N, V_s] against the teacher's k largest log-probabilities <paramref name="teacherLogProbs"/> [N, k]
    /// (in any order) and the log of the teacher's mass outside them <paramref name="teacherTailLogMass"/> [N]
    /// (null for dense targets: nothing outside).
    /// </summary>
    public static Tensor Distance(Tensor studentLogProbs, Tensor teacherLogProbs, Tensor? teacherTailLogMass)
    {
        if (studentLogProbs.dim() != 2 || teacherLogProbs.dim() != 2 || studentLogProbs.shape[0] != teacherLogProbs.shape[0])
            throw new ArgumentException(
                $"the student's log-probabilities [{string.Join(", ", studentLogProbs.shape)}] and the teacher's [{string.Join(", ", teacherLogProbs.shape)}] must both be [positions, tokens].");
        long k = teacherLogProbs.shape[1], studentVocabulary = studentLogProbs.shape[1];
        long compared = Math.Min(k, studentVocabulary);
        var teacher = teacherLogProbs.exp().sort(dim: 1, descending: true).Values;
        var student = studentLogProbs.exp().topk((int)compared, dim: 1).values; // sorted, largest first
        var distance = student.sub(teacher.narrow(1, 0, compared)).abs().sum([1L]);
        // Teacher entries past the student's vocabulary meet the student's zeros.
        if (k > compared) distance = distance.add(teacher.narrow(1, compared, k - compared).sum([1L]), TorchScalars.One);
        // The student's mass outside its k largest against the teacher's tail (0 for dense targets).
        var studentMass = student.sum([1L]);
        var studentTail = ones_like(studentMass).sub(studentMass).clamp_min(TorchScalars.Zero);
        var teacherTail = teacherTailLogMass is null ? zeros_like(studentTail) : teacherTailLogMass.exp();
        return distance.add(studentTail.sub(teacherTail).abs(), TorchScalars.One);
    }
}
