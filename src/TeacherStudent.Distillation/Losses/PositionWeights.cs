using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>Averages per-position divergences [N], optionally weighted (a 0/1 mask is the common case).</summary>
internal static class PositionWeights
{
    /// <summary>
    /// sum_n w_n d_n / sum_n w_n, or the plain mean without weights. Positions of weight 0 do not
    /// count whatever they hold (padding may hold anything); all weights 0 gives 0.
    /// </summary>
    public static Tensor Mean(Tensor perPosition, Tensor? weights)
    {
        if (weights is null) return perPosition.mean();
        if (!weights.shape.SequenceEqual(perPosition.shape))
            throw new ArgumentException(
                $"weights [{string.Join(", ", weights.shape)}] must have one value per position [{string.Join(", ", perPosition.shape)}].");
        var w = weights.to(perPosition.dtype);
        var ignored = w.eq(TorchScalars.Zero);
        var total = w.sum();
        var safeTotal = where(total.gt(TorchScalars.Zero), total, ones_like(total));
        return (perPosition.masked_fill(ignored, TorchScalars.Zero) * w).sum() / safeTotal;
    }
}
