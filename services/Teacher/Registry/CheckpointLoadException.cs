namespace TeacherStudent.Teacher.Registry;

/// <summary>A checkpoint was not loaded as a teacher's new version; the message says why, in one sentence or two.</summary>
public sealed class CheckpointLoadException(string message) : Exception(message);
