using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.StudentTrainer.Hosting;

namespace TeacherStudent.StudentTrainer.TeacherClient;

/// <summary>Which teacher service to learn from (configuration section "Teacher").</summary>
public sealed class TeacherClientOptions : IValidatableObject
{
    [Description("address of the teacher service: http://host:port, a comma-separated list of http://host:port (round-robin over replicas), or dns:///name:port (round-robin over every address of the name)")]
    public string Address { get; set; } = "http://127.0.0.1:5005";

    [Description("load the teacher from this checkpoint in this process instead of calling a service (tuning, debugging)")]
    public string Checkpoint { get; set; } = "";

    [Description("API key for a teacher service that needs one, sent in the x-api-key metadata header (empty = none); prefer the environment variable Teacher__ApiKey")]
    public string ApiKey { get; set; } = "";

    [Description("name of the teacher to ask (see Describe)")]
    [Required]
    public string Teacher { get; set; } = "fashion";

    /// <summary>What <see cref="TargetsDtype"/> takes.</summary>
    public static IReadOnlyList<string> TargetsDtypes { get; } = [WireDType.Float32.DisplayName(), WireDType.Float16.DisplayName()];

    [Description("element type of the soft targets on the wire")]
    [OneOf(typeof(TeacherClientOptions), nameof(TargetsDtypes))]
    public string TargetsDtype { get; set; } = "float32";

    [Description("seconds to wait for one batch of soft targets")]
    [Range(1, 3600)]
    public int TimeoutSeconds { get; set; } = 120;

    [Description("seconds to keep retrying, with backoff, while the teacher service is unavailable (restarting); 0 = fail at once")]
    [Range(0, 86400)]
    public int RetrySeconds { get; set; } = 120;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        ArgumentException? invalid = null;
        try { TeacherChannel.Parse(Address); }
        catch (ArgumentException e) { invalid = e; }
        if (invalid is not null) yield return new ValidationResult(invalid.Message, [nameof(Address)]);
    }
}
