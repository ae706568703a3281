namespace TeacherStudent.Teacher.Registry;

/// <summary>How a teacher that is not registered yet is set up when its first checkpoint arrives.</summary>
/// <param name="Device">auto, cpu or cuda[:n].</param>
/// <param name="MaxBatch">Largest number of examples one request may carry.</param>
/// <param name="DType">The dtype a Hugging Face teacher computes in (see <see cref="Options.TeacherOptions.DType"/>).</param>
public sealed record NewTeacherSettings(string Device, int MaxBatch, string DType = Options.TeacherOptions.AutoDType);
