using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// The student's objective:
/// <c>alpha * T^2 * D(teacher_T || student_T) + (1 - alpha) * CE(student, labels)</c>.
/// The T^2 factor keeps the soft term's gradients the same size whatever T (Hinton et al. 2015).
/// CE is averaged over the examples that have a label; examples without one (label -1) only
/// learn from the teacher.
/// </summary>
public sealed class DistillationObjective(IDistillationLoss divergence, double temperature, double alpha)
{
    /// <summary>Label value that marks an example without a label.</summary>
    public const long NoLabel = -1;

    public IDistillationLoss Divergence { get; } = divergence;
    public double Temperature { get; } = temperature > 0 && double.IsFinite(temperature)
        ? temperature
        : throw new ArgumentOutOfRangeException(nameof(temperature), "temperature must be finite and above 0.");
    public double Alpha { get; } = alpha is >= 0 and <= 1
        ? alpha
        : throw new ArgumentOutOfRangeException(nameof(alpha), "alpha must be between 0 and 1.");

    // Held for the objective's lifetime (see TorchScalars).
    private readonly TorchSharp.Scalar temperatureSquared = (temperature * temperature).ToScalar();
    private readonly TorchSharp.Scalar alphaScalar = alpha.ToScalar();
    private readonly TorchSharp.Scalar oneMinusAlpha = (1 - alpha).ToScalar();

    /// <summary>
    /// The scalar loss for one batch.
    /// </summary>
    /// <param name="studentLogits">[B, C] raw student outputs.</param>
    /// <param name="teacherLogProbs">[B, C] log_softmax(teacher logits / T), or null for labels only.</param>
    /// <param name="labels">[B] int64 class indices, <see cref="NoLabel"/> where there is none.</param>
    public Tensor Compute(Tensor studentLogits, Tensor? teacherLogProbs, Tensor labels)
    {
        var hard = CrossEntropyOnLabelled(studentLogits, labels);
        if (teacherLogProbs is null) return hard;
        var studentLogProbs = SoftTargets.LogProbabilities(studentLogits, Temperature);
        var soft = Divergence.Divergence(teacherLogProbs, studentLogProbs).mul(temperatureSquared);
        return soft.mul(alphaScalar).add(hard.mul(oneMinusAlpha), TorchScalars.One);
    }

    /// <summary>Mean cross-entropy over the labelled examples; zero when none is labelled.</summary>
    public static Tensor CrossEntropyOnLabelled(Tensor logits, Tensor labels)
    {
        var mask = labels.ge(TorchScalars.Zero);
        var count = mask.sum().clamp_min(TorchScalars.One);
        var safeLabels = labels.clamp_min(TorchScalars.Zero);
        var perExample = nn.functional.cross_entropy(logits, safeLabels, reduction: nn.Reduction.None);
        return (perExample * mask).sum() / count;
    }
}
