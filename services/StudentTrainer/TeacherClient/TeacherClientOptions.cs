using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using TeacherStudent.Distillation.Losses;
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

    [Description("name of the teacher to ask (see Describe); or NAME@ADDRESS[:WEIGHT], given once per teacher, to learn from an ensemble of teachers, each at its own address, combined by --teacher-combination (in configuration: the teachers separated by spaces)")]
    [Required]
    [Repeatable]
    public string Teacher { get; set; } = "fashion";

    [Description("how an ensemble's distributions are combined: mixture (the weighted mean of the teachers' probabilities) or product (of experts: the weighted mean of their log-probabilities, renormalised)")]
    [OneOf(typeof(EnsembleTargets), nameof(EnsembleTargets.Names))]
    public string Combination { get; set; } = "mixture";

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

    [Description("name the teacher's TLS certificate is checked against, given once for every replica: turns TLS on for dns:///name:port and for lists, whose addresses need not be that name (empty = each https:// address's own host; dns:/// and http:// lists are then plaintext)")]
    public string TlsHost { get; set; } = "";

    [Description("PEM file of the certificate authority (or the self-signed certificate) that the teacher's certificate must chain to, trusted instead of the machine's store (empty = the machine's store)")]
    public string TlsCaFile { get; set; } = "";

    /// <summary>The teachers <see cref="Teacher"/> names: one, or the members of an ensemble.</summary>
    /// <exception cref="ArgumentException">it names them in none of the accepted forms.</exception>
    public IReadOnlyList<TeacherChoice> Choices() => TeacherChoice.ParseAll(Teacher);

    /// <summary>Whether <see cref="Teacher"/> names an ensemble of teachers rather than one (a method: every property is a switch).</summary>
    public bool IsEnsemble() => Choices().Count > 1;

    /// <summary>These options for one teacher of <see cref="Choices"/>: its name, and its address when it has one.</summary>
    public TeacherClientOptions For(TeacherChoice choice)
    {
        var copy = (TeacherClientOptions)MemberwiseClone();
        copy.Teacher = choice.Name;
        copy.Address = choice.Address ?? Address;
        return copy;
    }

    /// <summary>
    /// <see cref="Teacher"/> written <c>NAME@ADDRESS</c> for a single teacher becomes the name and the address,
    /// so that every command reads one teacher the same way (an ensemble stays as written; so does a mistake,
    /// which <see cref="Validate"/> reports).
    /// </summary>
    public void SplitSingleAddress()
    {
        IReadOnlyList<TeacherChoice> choices;
        try { choices = Choices(); }
        catch (ArgumentException) { return; }
        if (choices is [{ Address: { } address } only])
        {
            Teacher = only.Name;
            Address = address;
        }
    }

    /// <summary>
    /// Refuses an ensemble in a command that asks one teacher (<paramref name="command"/> says which).
    /// </summary>
    /// <exception cref="ArgumentException">Teacher names several teachers.</exception>
    public void RequireOneTeacher(string command)
    {
        if (IsEnsemble())
            throw new ArgumentException(
                $"{command} learns from one teacher, and --teacher names {Choices().Count}: give one.");
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        ArgumentException? invalid = null;
        try { TeacherChannel.Parse(Address, new TeacherTls(TlsHost, TlsCaFile)); }
        catch (ArgumentException e) { invalid = e; }
        if (invalid is not null) yield return new ValidationResult(invalid.Message, [nameof(Address)]);
        if (TlsCaFile.Length > 0 && !File.Exists(TlsCaFile))
            yield return new ValidationResult($"Teacher:TlsCaFile '{TlsCaFile}' does not exist.", [nameof(TlsCaFile)]);
        invalid = null;
        try
        {
            if (IsEnsemble() && Checkpoint.Length > 0)
                invalid = new ArgumentException("an ensemble's teachers are services (NAME@ADDRESS): --teacher-checkpoint loads one teacher in this process, so give one or the other.");
        }
        catch (ArgumentException e) { invalid = e; }
        if (invalid is not null) yield return new ValidationResult(invalid.Message, [nameof(Teacher)]);
    }
}
