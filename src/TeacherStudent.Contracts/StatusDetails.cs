namespace TeacherStudent.Contracts.V1;

/// <summary>
/// Beginnings of status messages the contract promises (see teacher.proto), so that a caller may
/// act on them; written once here for the service that sends them and the C# callers that read them.
/// </summary>
public static class StatusDetails
{
    /// <summary>
    /// How an UNAVAILABLE from a teacher service that is stopping begins (SoftTargets, Generate):
    /// what was not answered may be sent again at once, to another replica if there is one.
    /// </summary>
    public const string StoppingPrefix = "the teacher service is stopping";
}
