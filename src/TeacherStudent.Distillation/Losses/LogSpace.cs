using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// The pieces every divergence here is made of, computed on log-probabilities so that nothing
/// underflows, and written so that a probability of 0 gives a term of 0 with a gradient of 0,
/// not NaN (an unselected NaN branch of <c>where</c> still poisons the gradient; filling the
/// inputs first does not).
/// </summary>
internal static class LogSpace
{
    /// <summary>Held for the process's lifetime (see <see cref="TorchScalars"/>).</summary>
    public static readonly Scalar NegativeInfinity = double.NegativeInfinity.ToScalar();

    /// <summary>
    /// a(x) (log a(x) - log b(x)) / w(x) at every token, from log a, log b and (when given) log w;
    /// 0 where a(x) = 0. Summed over x with w = 1 it is KL(a || b); averaged over x drawn from w it
    /// estimates KL(a || b) without bias (importance weighting).
    /// </summary>
    public static Tensor Term(Tensor logA, Tensor logB, Tensor? logW)
    {
        var absent = logA.isneginf();
        var a = logA.masked_fill(absent, TorchScalars.Zero);
        var b = logB.masked_fill(absent, TorchScalars.Zero);
        var weight = logW is null ? a.exp() : (a - logW.masked_fill(absent, TorchScalars.Zero)).exp();
        return (weight * (a - b)).masked_fill(absent, TorchScalars.Zero);
    }

    /// <summary>
    /// log of the probability mass outside <paramref name="ids"/> in each row:
    /// log(1 - sum_{i in ids} p_i), computed as the logsumexp of the other entries, which stays
    /// accurate when the ids hold nearly all the mass. -inf where they hold all of it.
    /// </summary>
    /// <param name="logProbs">[N, V] log-probabilities.</param>
    /// <param name="ids">[N, k] int64 distinct token ids per row.</param>
    public static Tensor MassOutside(Tensor logProbs, Tensor ids)
    {
        var excluded = full_like(ids, NegativeInfinity, dtype: logProbs.dtype);
        return logProbs.scatter(-1, ids, excluded).logsumexp(-1);
    }
}
