namespace TeacherStudent.Teacher;

/// <summary>The service cannot start (bad options, a checkpoint that cannot be loaded); the message says why.</summary>
public sealed class TeacherStartupException(string message, Exception? inner = null) : Exception(message, inner);
