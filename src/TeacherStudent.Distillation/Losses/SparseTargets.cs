using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>How the tokens of a <see cref="SparseTargets"/> were chosen.</summary>
public enum SparseTargetKind
{
    /// <summary>The teacher's k most probable tokens, plus the log of the mass outside them.</summary>
    TopK,

    /// <summary>k tokens drawn with replacement from the teacher's distribution (Anshumann et al. 2025).</summary>
    Sampled,
}

/// <summary>
/// The teacher's distribution at each of N positions, kept for only k of its V tokens: token ids
/// [N, k] with the teacher's log-probabilities there [N, k] (at the distillation temperature T).
/// <list type="bullet">
/// <item><see cref="SparseTargetKind.TopK"/> also keeps the log of the mass outside the top k [N];
/// a divergence is then computed exactly between the two (k + 1)-bucket distributions, the top-k
/// tokens and one tail bucket. That is a different divergence from the full one (coarser, never
/// larger for an f-divergence), and with k = V the same.</item>
/// <item><see cref="SparseTargetKind.Sampled"/> ids are k independent draws from the teacher's
/// distribution; a divergence sum_x f(x) is estimated as (1/k) sum_i f(x_i) / p(x_i), whose
/// expectation is the full divergence (importance weighting with the teacher as proposal).
/// Caching the top k instead is biased (Anshumann et al., "Sparse Logit Sampling", ACL 2025).</item>
/// </list>
/// Divergences against these targets: <see cref="IDistillationLoss.Divergence(SparseTargets, Tensor, Tensor?)"/>.
/// </summary>
public sealed class SparseTargets
{
    private SparseTargets(SparseTargetKind kind, Tensor ids, Tensor logProbs, Tensor? tailLogMass)
    {
        if (ids.dim() != 2 || !ids.shape.SequenceEqual(logProbs.shape))
            throw new ArgumentException(
                $"ids [{string.Join(", ", ids.shape)}] and log-probabilities [{string.Join(", ", logProbs.shape)}] must both be [positions, k].");
        if (ids.shape[1] < 1) throw new ArgumentException("sparse targets need at least one token per position.");
        if (ids.dtype is not (ScalarType.Byte or ScalarType.Int8 or ScalarType.Int16 or ScalarType.Int32 or ScalarType.Int64)) throw new ArgumentException($"token ids must be integers, not {ids.dtype}.");
        if (tailLogMass is not null && !tailLogMass.shape.SequenceEqual([ids.shape[0]]))
            throw new ArgumentException($"the tail log-mass must be one value per position [{ids.shape[0]}], not [{string.Join(", ", tailLogMass.shape)}].");
        Kind = kind;
        Ids = ids;
        LogProbs = logProbs;
        TailLogMass = tailLogMass;
    }

    /// <summary>How the tokens were chosen.</summary>
    public SparseTargetKind Kind { get; }

    /// <summary>[N, k] token ids, of any integer type (the wire uses the smallest that holds V).</summary>
    public Tensor Ids { get; }

    /// <summary>[N, k] the teacher's log-probabilities of <see cref="Ids"/>.</summary>
    public Tensor LogProbs { get; }

    /// <summary>[N] log of the teacher's mass outside the top k; null for sampled targets.</summary>
    public Tensor? TailLogMass { get; }

    /// <summary>Tokens kept per position.</summary>
    public int K => (int)Ids.shape[1];

    /// <summary>Top-k targets from their parts: distinct ids, their log-probs and the log of the rest of the mass.</summary>
    public static SparseTargets FromTopK(Tensor ids, Tensor logProbs, Tensor tailLogMass) =>
        new(SparseTargetKind.TopK, ids, logProbs, tailLogMass);

    /// <summary>Sampled targets from their parts: ids drawn with replacement from the teacher and their log-probs.</summary>
    public static SparseTargets FromSamples(Tensor ids, Tensor logProbs) =>
        new(SparseTargetKind.Sampled, ids, logProbs, null);

    /// <summary>The k most probable tokens of each row of dense log-probabilities [N, V], with the tail mass.</summary>
    public static SparseTargets TopK(Tensor logProbs, int k)
    {
        CheckDense(logProbs);
        if (k < 1 || k > logProbs.shape[1])
            throw new ArgumentOutOfRangeException(nameof(k), $"k must be between 1 and the vocabulary size {logProbs.shape[1]}, not {k}.");
        var (values, ids) = logProbs.topk(k, dim: -1);
        return FromTopK(ids, values, LogSpace.MassOutside(logProbs, ids));
    }

    /// <summary>
    /// k tokens per row drawn with replacement from dense log-probabilities [N, V] (already at the
    /// temperature the student learns at), from <paramref name="generator"/> or torch's global one.
    /// </summary>
    public static SparseTargets Sample(Tensor logProbs, int k, Generator? generator = null)
    {
        CheckDense(logProbs);
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), $"k must be at least 1, not {k}.");
        var ids = logProbs.exp().multinomial(k, replacement: true, generator: generator);
        return FromSamples(ids, logProbs.gather(-1, ids));
    }

    /// <summary>
    /// The dense distribution [N, V] (log-probabilities) a student would read from these targets:
    /// top-k keeps the k log-probs and spreads the tail mass evenly over the other V - k tokens;
    /// sampled gives each token its share of the k draws (count / k), and log 0 = -inf to the rest,
    /// so KL(teacher || reconstruction) of sampled targets is infinite as soon as one token the
    /// teacher gives mass to was not drawn.
    /// </summary>
    public Tensor Reconstruct(long vocabularySize)
    {
        if (vocabularySize < K && Kind == SparseTargetKind.TopK)
            throw new ArgumentOutOfRangeException(nameof(vocabularySize), $"a vocabulary of {vocabularySize} cannot hold the top {K}.");
        var ids = LongIds();
        long rows = Ids.shape[0];
        if (Kind == SparseTargetKind.Sampled)
        {
            var counts = zeros(rows, vocabularySize, dtype: LogProbs.dtype, device: LogProbs.device)
                .scatter_add(-1, ids, ones_like(LogProbs));
            using var k = ((double)K).ToScalar();
            return counts.div(k).log();
        }

        Tensor everyOther;
        if (vocabularySize == K)
            everyOther = full(rows, vocabularySize, LogSpace.NegativeInfinity, dtype: LogProbs.dtype, device: LogProbs.device);
        else
        {
            using var logOthers = Math.Log(vocabularySize - K).ToScalar();
            everyOther = TailLogMass!.to(LogProbs.dtype).sub(logOthers).unsqueeze(-1).expand(rows, vocabularySize).contiguous();
        }
        return everyOther.scatter(-1, ids, LogProbs);
    }

    /// <summary><see cref="Ids"/> as int64, which gather and scatter need.</summary>
    internal Tensor LongIds() => Ids.dtype == ScalarType.Int64 ? Ids : Ids.to(ScalarType.Int64);

    private static void CheckDense(Tensor logProbs)
    {
        if (logProbs.dim() != 2)
            throw new ArgumentException($"dense log-probabilities must be [positions, vocabulary], not [{string.Join(", ", logProbs.shape)}].");
    }
}
