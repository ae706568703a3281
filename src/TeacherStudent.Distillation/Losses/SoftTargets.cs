using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// The soft targets of knowledge distillation (Hinton et al. 2015): log_softmax(z / T) over the
/// last dimension of the logits z, the log-probabilities of the distribution softened by the
/// temperature T (T = 1 is the plain softmax). Written once, here: the teacher service, an
/// in-process teacher (classifier or language model) and the student's side of the distillation
/// objectives all compute it with this, so that they cannot drift apart.
/// </summary>
public static class SoftTargets
{
    /// <summary>
    /// log_softmax(<paramref name="logits"/> / <paramref name="temperature"/>) over the last
    /// dimension: classes of [B, C], the vocabulary of [B, L, V]. Gradients flow through it (the
    /// student's side); a teacher calls it under no_grad. Call inside a dispose scope.
    /// </summary>
    public static Tensor LogProbabilities(Tensor logits, double temperature)
    {
        using var t = temperature.ToScalar(); // held until the call returns (see TorchScalars)
        return nn.functional.log_softmax(logits.div(t), -1);
    }

    /// <summary>
    /// The same with a temperature per row: <paramref name="temperatures"/> broadcasts against
    /// <paramref name="logits"/> ([B, 1] for [B, C]), so that one forward serves requests at
    /// different temperatures; log_softmax is per row, so rows never mix.
    /// </summary>
    public static Tensor LogProbabilities(Tensor logits, Tensor temperatures) =>
        nn.functional.log_softmax(logits.div(temperatures), -1);
}
