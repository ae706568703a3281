using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Registry;

namespace TeacherStudent.Teacher.Language;

/// <summary>
/// A SoftTargets request to a language-model teacher that passed every check: <see cref="Sequences"/>
/// sequences of <see cref="Length"/> token ids inside the vocabulary (row-major in
/// <see cref="Tokens"/>), 1 &lt;= Length &lt;= the context length, settings in range, and an
/// output dtype of float32 or float16. A batch sent as texts carries the teacher's tokens of them
/// (<paramref name="Text"/>), whose byte spans the answer gives back.
/// </summary>
public sealed record ValidatedSequenceBatch(
    LoadedTeacher Teacher, int[] Tokens, int Sequences, int Length, SequenceTargetSettings Settings, WireDType OutputDType, bool Uncached = false,
    TokenizedTexts? Text = null)
{
    /// <summary>The tokens of sequence <paramref name="index"/>.</summary>
    public ReadOnlySpan<int> Sequence(int index) => Tokens.AsSpan(index * Length, Length);
}
