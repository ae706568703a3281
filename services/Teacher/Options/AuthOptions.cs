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

    /// <summary>
    /// A file of caller keys (a mounted Secret), one per line (blank lines and lines starting with # are skipped), accepted
    /// beside <see cref="ApiKeys"/>. Read again whenever it changes, so that keys rotate without a restart: a key
    /// added is accepted, and a key removed refused, from the next call after the change is seen.
    /// </summary>
    public string ApiKeysFile { get; set; } = "";

    /// <summary>A file holding the admin key (a mounted Secret), instead of <see cref="AdminKey"/>; read again whenever it changes.</summary>
    public string AdminKeyFile { get; set; } = "";

    /// <summary>How often the key files are looked at for a change, in milliseconds (a file watcher also wakes the check at once where the file system tells).</summary>
    [Range(100, 600_000)]
    public int KeyFilesCheckMilliseconds { get; set; } = 2000;

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
        if (AdminKey.Length > 0 && AdminKeyFile.Length > 0)
            yield return new ValidationResult("Auth:AdminKey and Auth:AdminKeyFile are both set; give one.");
    }
}
