using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>
/// Who may call the service (configuration section "Auth"). Callers send a key in the gRPC
/// metadata header <c>x-api-key</c> (or <c>authorization: Bearer &lt;key&gt;</c>). With no
/// ApiKeys the teacher service is open to every caller; the admin service needs AdminKey always,
/// and is off while none is set. TLS is Kestrel's: see services/Teacher/README.md.
/// </summary>
public sealed class AuthOptions : IValidatableObject
{
    public const string Section = "Auth";

    /// <summary>Keys accepted for Describe and SoftTargets (Auth:ApiKeys:0=..., Auth:ApiKeys:1=...); empty = no key needed.</summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>Key for the TeacherAdmin service (loading checkpoints); also accepted wherever an API key is; empty = the admin service is off.</summary>
    public string AdminKey { get; set; } = "";

    /// <summary>True when Describe and SoftTargets need a key.</summary>
    public bool RequiresCallerKey => ApiKeys.Count > 0;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (int i = 0; i < ApiKeys.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(ApiKeys[i]) || ApiKeys[i].Trim() != ApiKeys[i])
                yield return new ValidationResult($"Auth:ApiKeys:{i} is empty or starts or ends with white space; give a key of printable characters.");
        }
        if (AdminKey.Trim() != AdminKey)
            yield return new ValidationResult("Auth:AdminKey starts or ends with white space; give a key of printable characters.");
    }
}
