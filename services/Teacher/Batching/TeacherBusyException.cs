namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// A request could not get into its teacher's queue before its call's deadline: the caller gets
/// RESOURCE_EXHAUSTED for that batch, with this message.
/// </summary>
public sealed class TeacherBusyException(string message) : Exception(message);
