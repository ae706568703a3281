namespace TeacherStudent.Distillation.Language;

/// <summary>
/// One sequence a language-model teacher is to score, with what is asked of it: the unit that
/// requests of different students, lengths and settings share forwards in
/// (<see cref="SequenceTargets.ComputeMany"/>).
/// </summary>
/// <param name="Tokens">Its token ids, at least one, no longer than the teacher's context.</param>
/// <param name="Settings">Temperature, k and kind of its targets (its seed: of its draws, see <see cref="SequenceTargets.SeedFor"/>).</param>
public readonly record struct SequenceToScore(ReadOnlyMemory<int> Tokens, SequenceTargetSettings Settings)
{
    /// <summary>Tokens in the sequence.</summary>
    public int Length => Tokens.Length;
}

/// <summary>How sequences of different lengths share a teacher's forward passes.</summary>
public enum SequencePacking
{
    /// <summary>
    /// One forward per length: sequences of one length run together, nothing is computed twice or
    /// for nothing, and a mix of n lengths takes n forwards.
    /// </summary>
    Bucketing,

    /// <summary>
    /// One forward for all: every sequence is right-padded to the longest and the padded positions'
    /// rows are dropped. Exact for a causal model (position j reads tokens 0..j only), at the cost
    /// of computing the padding.
    /// </summary>
    Padding,
}
