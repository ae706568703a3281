using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// log(w a + (1 - w) b) from log a and log b, elementwise, for a fixed weight w in [0, 1]:
/// the mixture distribution of the JSD and the skew divergences, without leaving log space.
/// </summary>
internal sealed class LogMixture
{
    private readonly double weight;

    // Held for the mixture's lifetime (see TorchScalars).
    private readonly Scalar logWeight;
    private readonly Scalar logOneMinusWeight;

    public LogMixture(double weight)
    {
        this.weight = weight;
        logWeight = Math.Log(weight).ToScalar();
        logOneMinusWeight = Math.Log(1 - weight).ToScalar();
    }

    public Tensor Of(Tensor logA, Tensor logB)
    {
        if (weight == 0) return logB;
        if (weight == 1) return logA;
        // Where both are 0 the mixture is 0 too; the inputs are filled there first so that
        // logaddexp's gradient, exp(-inf - -inf), is never formed.
        var bothAbsent = logA.isneginf().logical_and(logB.isneginf());
        var a = logA.masked_fill(bothAbsent, TorchScalars.Zero).add(logWeight, TorchScalars.One);
        var b = logB.masked_fill(bothAbsent, TorchScalars.Zero).add(logOneMinusWeight, TorchScalars.One);
        return a.logaddexp(b).masked_fill(bothAbsent, LogSpace.NegativeInfinity);
    }
}
