using TeacherStudent.Distillation.Losses;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// What a student asks a language-model teacher for at every position of its sequences:
/// log-probabilities at <paramref name="Temperature"/>, all of them (<paramref name="K"/> = 0) or
/// k per position, chosen as the top k or drawn from the teacher's distribution
/// (<paramref name="Kind"/>; draws are made from <paramref name="Seed"/>, so the same request gets
/// the same draws, and a cache can keep them).
/// </summary>
public sealed record SequenceTargetSettings(float Temperature, int K = 0, SparseTargetKind Kind = SparseTargetKind.TopK, long Seed = 0)
{
    /// <summary>True when every token's log-probability is asked for.</summary>
    public bool Dense => K == 0;

    /// <summary>A short name for reports and cache keys: dense, top8, sampled32.</summary>
    public string Shape => Dense ? "dense" : Kind == SparseTargetKind.TopK ? $"top{K}" : $"sampled{K}";

    /// <summary>This, or an <see cref="ArgumentException"/> that says what is out of range for <paramref name="vocabularySize"/>.</summary>
    public SequenceTargetSettings Validate(int vocabularySize)
    {
        if (!(Temperature > 0 && float.IsFinite(Temperature)))
            throw new ArgumentException($"temperature must be finite and above 0, not {Temperature}.");
        if (K < 0 || K > vocabularySize)
            throw new ArgumentException($"k must be between 0 (every token) and the vocabulary size {vocabularySize}, not {K}.");
        if (!Enum.IsDefined(Kind)) throw new ArgumentException($"unknown kind of sparse targets {Kind}.");
        return this;
    }
}
