using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Registry;

namespace TeacherStudent.Teacher;

/// <summary>
/// A SoftTargets request sent as example digests that passed every check: a known classifier
/// teacher, an input dtype and shape [Count, ...example shape] it accepts,
/// 1 &lt;= Count &lt;= MaxBatch, <see cref="ExampleDigests.Size"/> bytes of digest per example, a
/// temperature in the accepted range (0.01 to 100) and an output dtype of float32 or float16. It is
/// answered from the cache alone.
/// </summary>
public sealed record ValidatedLookup(LoadedTeacher Teacher, WireDType InputDType, long[] Shape, int Count, float Temperature,
    WireDType OutputDType, ReadOnlyMemory<byte> Digests);
