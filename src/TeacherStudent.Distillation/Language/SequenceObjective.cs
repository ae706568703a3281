using TeacherStudent.Distillation.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// A language-model student's objective at every position of its sequences:
/// <c>alpha * T^2 * D(teacher_T || student_T) + (1 - alpha) * CE(student, next token)</c>, D the
/// chosen divergence against dense or sparse teacher targets (<see cref="IDistillationLoss"/>'s two
/// overloads), CE at temperature 1 against the corpus's real next tokens. Both are taken over the
/// tokenizer's vocabulary only: a student whose output is padded past it is cut back first.
/// A cross-tokenizer student has no divergence over a shared vocabulary (null): it mixes its own soft
/// term (<see cref="UniversalLogitDistillation"/>) with the cross-entropy through <see cref="Mix"/>.
/// Call inside a dispose scope.
/// </summary>
public sealed class SequenceObjective(IDistillationLoss? divergence, double temperature, double alpha, int vocabularySize)
{
    public IDistillationLoss? Divergence { get; } = divergence;
    public double Temperature { get; } = temperature > 0 && double.IsFinite(temperature)
        ? temperature
        : throw new ArgumentOutOfRangeException(nameof(temperature), "temperature must be finite and above 0.");
    public double Alpha { get; } = alpha is >= 0 and <= 1
        ? alpha
        : throw new ArgumentOutOfRangeException(nameof(alpha), "alpha must be between 0 and 1.");

    /// <summary>Tokens the distributions are over: the tokenizer's.</summary>
    public int VocabularySize { get; } = vocabularySize;

    // Held for the objective's lifetime (see TorchScalars).
    private readonly Scalar temperatureSquared = (temperature * temperature).ToScalar();
    private readonly Scalar alphaScalar = alpha.ToScalar();
    private readonly Scalar oneMinusAlpha = (1 - alpha).ToScalar();

    /// <summary>A model's logits [B, L, V'] as [B * L, V]: flattened, and cut to the tokenizer's vocabulary.</summary>
    public Tensor Positions(Tensor logits)
    {
        if (logits.shape[^1] > VocabularySize) logits = logits.narrow(-1, 0, VocabularySize);
        return logits.reshape(-1, VocabularySize);
    }

    /// <summary>
    /// The whole objective at every position: <paramref name="studentLogits"/> [N, V] (from
    /// <see cref="Positions"/>), the teacher's targets for the same N positions (null: CE only) and
    /// the real next tokens [N] (int64).
    /// </summary>
    public Tensor Compute(Tensor studentLogits, SequenceTargetBatch? teacher, Tensor nextTokens)
    {
        var hard = CrossEntropy(studentLogits, nextTokens);
        if (teacher is null) return hard;
        var soft = Distillation(studentLogits, teacher);
        return Mix(soft, hard);
    }

    /// <summary>T^2 * <paramref name="divergence"/>: a divergence at temperature T, scaled as Hinton et al. scale it.</summary>
    public Tensor ScaledByTemperature(Tensor divergence) => divergence.mul(temperatureSquared);

    /// <summary>alpha * soft + (1 - alpha) * hard; only the soft term when alpha is 1.</summary>
    public Tensor Mix(Tensor soft, Tensor? hard) =>
        hard is null || Alpha == 1 ? soft.mul(alphaScalar) : soft.mul(alphaScalar).add(hard, oneMinusAlpha);  // add's alpha held, not an implicit 1

    /// <summary>Mean next-token cross-entropy of <paramref name="logits"/> [N, V] against <paramref name="nextTokens"/> [N].</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor nextTokens) => nn.functional.cross_entropy(logits, nextTokens);

    /// <summary>
    /// T^2 * D(teacher_T || student_T), the (weighted) mean over positions: dense targets exactly,
    /// sparse ones as <see cref="IDistillationLoss.Divergence(SparseTargets, Tensor, Tensor?)"/> says.
    /// </summary>
    /// <param name="studentLogits">[N, V] raw student outputs for the positions the targets describe.</param>
    /// <param name="teacher">The teacher's targets for those N positions.</param>
    /// <param name="weights">[N] position weights (a 0/1 mask leaves positions out), or null for the plain mean.</param>
    public Tensor Distillation(Tensor studentLogits, SequenceTargetBatch teacher, Tensor? weights = null)
    {
        if (teacher.VocabularySize != VocabularySize)
            throw new ArgumentException($"the teacher's targets are over {teacher.VocabularySize} tokens, the student's over {VocabularySize}.");
        if (studentLogits.shape[0] != teacher.Positions)
            throw new ArgumentException($"{studentLogits.shape[0]} student positions do not match the teacher's {teacher.Positions}.");
        if (Divergence is null) throw new InvalidOperationException("this objective has no divergence over a shared vocabulary (a cross-tokenizer student's).");
        var device = studentLogits.device;
        var student = SoftTargets.LogProbabilities(studentLogits, Temperature);
        var divergence = teacher.Settings.Dense
            ? Divergence.Divergence(teacher.DenseTensor(device), student, weights)
            : Divergence.Divergence(teacher.SparseTensors(device), student, weights);
        return divergence.mul(temperatureSquared);
    }
}
