using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Registry;

namespace TeacherStudent.Teacher;

/// <summary>
/// A SoftTargets request that passed every check: a known teacher, inputs of shape
/// [Count, ...example shape] in float32 or uint8 with finite values, 1 &lt;= Count &lt;= MaxBatch,
/// a finite temperature &gt; 0 and an output dtype of float32 or float16.
/// </summary>
public sealed record ValidatedBatch(LoadedTeacher Teacher, WireTensor Inputs, int Count, float Temperature, WireDType OutputDType);
