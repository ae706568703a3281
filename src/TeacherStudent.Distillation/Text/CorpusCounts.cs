namespace TeacherStudent.Distillation.Text;

/// <summary>How much text one split holds.</summary>
/// <param name="Entries">Number of entries, duplicates counted.</param>
/// <param name="Characters">Total length of the entries in UTF-16 characters (newlines counted, no separators).</param>
public sealed record SplitCounts(int Entries, long Characters)
{
    /// <summary>Counts the entries of one split.</summary>
    public static SplitCounts Of(IReadOnlyList<string> entries) => new(entries.Count, entries.Sum(e => (long)e.Length));

    /// <inheritdoc />
    public override string ToString() => $"{Entries:N0} entries, {Characters:N0} characters";
}

/// <summary>How much text each split of a corpus holds.</summary>
/// <param name="Train">The train split.</param>
/// <param name="Validation">The validation split.</param>
/// <param name="Test">The test split.</param>
public sealed record CorpusCounts(SplitCounts Train, SplitCounts Validation, SplitCounts Test)
{
    /// <summary>All entries of all splits.</summary>
    public int Entries => Train.Entries + Validation.Entries + Test.Entries;

    /// <summary>All characters of all splits.</summary>
    public long Characters => Train.Characters + Validation.Characters + Test.Characters;

    /// <inheritdoc />
    public override string ToString() => $"train {Train}; validation {Validation}; test {Test}";
}
