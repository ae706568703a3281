namespace TeacherStudent.Teacher.Registry;

/// <summary>What a load did: the teacher's version now, and the one before it (null for a new teacher; equal to Version when the checkpoint was the one already serving).</summary>
public sealed record LoadOutcome(string Name, string Version, string? PreviousVersion);
