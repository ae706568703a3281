using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Registry;

namespace TeacherStudent.Teacher;

/// <summary>
/// A SoftTargets request that passed every check: a known teacher, inputs of shape
/// [Count, ...example shape] in uint8 or in float32 within the pixel range (0..1), 1 &lt;= Count &lt;= MaxBatch,
/// a temperature in the accepted range (0.01 to 100) and an output dtype of float32 or float16;
/// <paramref name="Uncached"/> when its examples are not to be looked up in the cache nor kept there.
/// </summary>
public sealed record ValidatedBatch(LoadedTeacher Teacher, WireTensor Inputs, int Count, float Temperature, WireDType OutputDType, bool Uncached = false);
