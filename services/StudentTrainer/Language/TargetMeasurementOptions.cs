using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.Language;

/// <summary>
/// What the <c>measure-targets</c> command measures with (configuration section "Measurement").
/// The teacher is the service at <c>--teacher-address</c>; <c>--teacher-checkpoint</c> is the
/// same checkpoint, loaded here as the reference.
/// </summary>
public sealed class TargetMeasurementOptions
{
    public const string Section = "Measurement";

    [Description("validation sequences (of the teacher's context length) to measure on")]
    [Range(1, 1_000_000)]
    public int Sequences { get; set; } = 256;

    [Description("sequences per request")]
    [Range(1, 65536)]
    public int Batch { get; set; } = 16;

    [Description("timed passes of served and in-process targets, alternating; the medians are reported")]
    [Range(1, 1000)]
    public int Repeats { get; set; } = 3;

    [Description("where the figures go, as JSON")]
    [Required(AllowEmptyStrings = false)]
    public string Out { get; set; } = "artifacts/lm/targets.json";
}

/// <summary>The <c>measure-targets</c> job: <see cref="TargetMeasurement"/> with the host's options.</summary>
public sealed class TargetMeasurementJob(IOptions<TargetMeasurementOptions> options, IOptions<TeacherClientOptions> teacher)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var t = teacher.Value;
        t.RequireOneTeacher("measure-targets");
        if (t.Checkpoint.Length == 0)
            throw new ArgumentException("measure-targets needs --teacher-checkpoint: the checkpoint the teacher service serves, loaded here as the reference.");
        var o = options.Value;
        await TargetMeasurement.RunAsync(t, t.Checkpoint, o.Sequences, o.Batch, o.Repeats, o.Out, cancellationToken);
    }
}
