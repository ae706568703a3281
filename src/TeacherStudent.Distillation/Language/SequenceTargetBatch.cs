using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// A teacher's soft targets for <see cref="Sequences"/> sequences of <see cref="Length"/> tokens,
/// positions row-major (N = Sequences * Length): dense log-probabilities [N, V], or for sparse
/// settings the ids [N, k] with their log-probabilities [N, k] (and, for top-k, the log of the mass
/// outside them [N]). The position after the last token is not scored: position j holds the
/// distribution of the token that follows token j.
/// </summary>
public sealed record SequenceTargetBatch(
    int Sequences, int Length, int VocabularySize, SequenceTargetSettings Settings,
    float[] LogProbs, int[]? Ids, float[]? TailLogMass, string TeacherVersion)
{
    /// <summary>
    /// The sequences of <paramref name="parts"/> (at least one, all of one length and the same
    /// settings, vocabulary and teacher version) as one batch, in order.
    /// </summary>
    public static SequenceTargetBatch Join(IReadOnlyList<SequenceTargetBatch> parts)
    {
        if (parts.Count == 0) throw new ArgumentException("there is nothing to join.", nameof(parts));
        var first = parts[0];
        if (parts.Count == 1) return first;
        foreach (var part in parts)
            if (part.Length != first.Length || part.Settings != first.Settings || part.VocabularySize != first.VocabularySize || part.TeacherVersion != first.TeacherVersion)
                throw new ArgumentException("only targets of one length, settings and teacher join into one batch.", nameof(parts));
        return new SequenceTargetBatch(parts.Sum(p => p.Sequences), first.Length, first.VocabularySize, first.Settings,
            Concat(parts.Select(p => p.LogProbs)),
            first.Ids is null ? null : Concat(parts.Select(p => p.Ids!)),
            first.TailLogMass is null ? null : Concat(parts.Select(p => p.TailLogMass!)),
            first.TeacherVersion);
    }

    private static T[] Concat<T>(IEnumerable<T[]> arrays)
    {
        var all = arrays.ToArray();
        var joined = new T[all.Sum(a => a.Length)];
        var offset = 0;
        foreach (var array in all)
        {
            array.CopyTo(joined, offset);
            offset += array.Length;
        }
        return joined;
    }

    /// <summary>Positions: sequences times length.</summary>
    public int Positions => Sequences * Length;

    /// <summary>Dense targets as a tensor [N, V] (only when <see cref="SequenceTargetSettings.Dense"/>).</summary>
    public Tensor DenseTensor(Device device)
    {
        if (!Settings.Dense) throw new InvalidOperationException($"these targets are {Settings.Shape}, not dense.");
        return tensor(LogProbs, [Positions, VocabularySize], device: device);
    }

    /// <summary>Sparse targets as tensors (only when k &gt; 0).</summary>
    public SparseTargets SparseTensors(Device device)
    {
        if (Settings.Dense || Ids is null) throw new InvalidOperationException("these targets are dense, not sparse.");
        var k = Settings.K;
        var ids = tensor(Ids, [Positions, k], dtype: ScalarType.Int64, device: device);
        var logProbs = tensor(LogProbs, [Positions, k], device: device);
        return Settings.Kind == SparseTargetKind.TopK
            ? SparseTargets.FromTopK(ids, logProbs, tensor(TailLogMass ?? throw new InvalidOperationException("top-k targets without their tail mass."), [Positions], device: device))
            : SparseTargets.FromSamples(ids, logProbs);
    }
}
