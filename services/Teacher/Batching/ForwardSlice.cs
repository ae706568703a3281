using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// One request's part of a shared forward pass: <paramref name="Count"/> consecutive examples
/// (their input bytes), the request's temperature and output dtype, and where their log-prob
/// rows are to be written.
/// </summary>
public readonly record struct ForwardSlice(
    ReadOnlyMemory<byte> Inputs, WireDType InputDType, int Count, float Temperature, WireDType OutputDType, Memory<byte> Output);
