namespace TeacherStudent.Distillation.Language;

/// <summary>A teacher's targets for texts: <see cref="Targets"/> at every position of <see cref="Tokens"/> (row t predicts token t + 1).</summary>
public sealed record TextTargetBatch(TokenizedTexts Tokens, SequenceTargetBatch Targets);
