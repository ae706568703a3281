using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>The teacher this service holds (configuration section "Teacher").</summary>
public sealed class TeacherOptions
{
    public const string Section = "Teacher";

    /// <summary>Name callers use to ask for this teacher.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Name { get; set; } = "fashion";

    /// <summary>Path of the checkpoint file to load (required); its digest is the teacher's version.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Teacher:Checkpoint is required: give the path of a teacher checkpoint (--Teacher:Checkpoint=/path/model.ckpt).")]
    public string Checkpoint { get; set; } = "";

    /// <summary>Where the model runs: auto (cuda when available, else cpu), cpu or cuda[:n].</summary>
    [Required(AllowEmptyStrings = false)]
    public string Device { get; set; } = "auto";

    /// <summary>Largest number of examples one request may carry.</summary>
    [Range(1, 65536)]
    public int MaxBatch { get; set; } = 1024;
}
