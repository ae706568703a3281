namespace TeacherStudent.Distillation.Language;

/// <summary>
/// A teacher that also scores text it tokenizes itself and says which bytes each of its tokens covers:
/// what a student with another tokenizer aligns by (<see cref="ByteAlignment"/>).
/// </summary>
public interface ITextTargetSource : ISequenceTargetSource
{
    /// <summary>The teacher's targets for <paramref name="texts"/>, tokenized by the teacher, as <paramref name="settings"/> ask.</summary>
    Task<TextTargetBatch> GetForTextsAsync(IReadOnlyList<string> texts, SequenceTargetSettings settings, CancellationToken cancellationToken);
}
