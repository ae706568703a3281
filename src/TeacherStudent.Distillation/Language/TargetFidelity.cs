using TeacherStudent.Distillation.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// How much of the teacher's distribution survives a way of shipping it: the mean over positions
/// of KL(p_teacher || p_reconstructed), where the reconstruction is what a student can rebuild
/// from what it received, renormalised. Dense: the (rounded) values themselves. Top-k: the k
/// values, the tail mass spread evenly over the other tokens. Sampled: the distinct drawn tokens
/// with the log-probabilities sent beside them, the rest of the mass spread evenly over the
/// tokens never drawn. (A sampled student does not train on this reconstruction: its loss
/// estimate is unbiased. The figure shows what each way keeps of the distribution.)
/// </summary>
public static class TargetFidelity
{
    /// <summary>Mean KL in nats of the teacher's exact log-probabilities [N, V] from what <paramref name="received"/> rebuilds.</summary>
    public static double MeanKl(Tensor teacherLogProbs, SequenceTargetBatch received)
    {
        using var scope = NewDisposeScope();
        var p = teacherLogProbs.to(ScalarType.Float64);
        var rebuilt = Reconstruct(received, p.device).to(ScalarType.Float64);
        // Renormalised: float16 rounding leaves the sent values a little off a distribution.
        var q = rebuilt.log_softmax(-1);
        var terms = p.exp() * (p - q);
        return terms.sum(-1).mean().item<double>();
    }

    private static Tensor Reconstruct(SequenceTargetBatch received, Device device)
    {
        var v = received.VocabularySize;
        if (received.Settings.Dense) return received.DenseTensor(device);
        var sparse = received.SparseTensors(device);
        if (sparse.Kind == SparseTargetKind.TopK) return sparse.Reconstruct(v);

        // Sampled: the distinct drawn tokens keep the log-probabilities sent for them (a token
        // drawn twice carries the same value twice); the rest share what mass is left.
        var ids = sparse.Ids;
        var drawn = zeros(received.Positions, v, dtype: ScalarType.Bool, device: device).scatter(-1, ids, ones_like(ids, dtype: ScalarType.Bool));
        var known = full(received.Positions, v, double.NegativeInfinity, dtype: ScalarType.Float64, device: device)
            .scatter(-1, ids, sparse.LogProbs.to(ScalarType.Float64));
        var left = (1 - known.exp().sum(-1, keepdim: true)).clamp_min(1e-12);
        var unseen = (v - drawn.sum(-1, keepdim: true)).clamp_min(1).to(ScalarType.Float64);
        return where(drawn, known, (left / unseen).log().expand(-1, v));
    }
}
