using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>
/// One teacher to load at start: the single "Teacher" section (the shorthand,
/// --Teacher:Name=fashion --Teacher:Checkpoint=...) or one item of the "Teachers" list
/// (Teachers:0:Name, Teachers:0:Checkpoint, ...). See <see cref="TeachersOptions"/>.
/// </summary>
public sealed class TeacherOptions
{
    public const string Section = "Teacher";

    /// <summary>Name callers use to ask for this teacher.</summary>
    [Required(AllowEmptyStrings = false)]
    [RegularExpression(TeacherNames.Pattern, ErrorMessage = TeacherNames.Rule)]
    public string Name { get; set; } = "fashion";

    /// <summary>Path of the checkpoint file to load; its digest is the teacher's version. An empty one turns the "Teacher" shorthand off.</summary>
    public string Checkpoint { get; set; } = "";

    /// <summary>Where the model runs: auto (cuda when available, else cpu), cpu or cuda[:n].</summary>
    [Required(AllowEmptyStrings = false)]
    public string Device { get; set; } = "auto";

    /// <summary>
    /// The dtype a Hugging Face teacher computes in: auto (float32 on a CPU, where bfloat16 and float16 matrix
    /// products are slow or missing; on a GPU the dtype its weights were saved in), float32, bfloat16 or float16.
    /// The project's own checkpoints compute in float32 (auto or float32).
    /// </summary>
    [AllowedValues(AutoDType, "float32", "bfloat16", "float16", ErrorMessage = "DType must be one of auto, float32, bfloat16, float16.")]
    public string DType { get; set; } = AutoDType;

    /// <summary>The DType that leaves the choice to the device.</summary>
    public const string AutoDType = "auto";

    /// <summary>Every DType a teacher may be given (here and in TeacherAdmin.LoadCheckpoint).</summary>
    public static readonly IReadOnlyList<string> DTypes = [AutoDType, "float32", "bfloat16", "float16"];

    /// <summary>Largest number of examples one request may carry.</summary>
    [Range(1, 65536)]
    public int MaxBatch { get; set; } = 1024;

    /// <summary>
    /// Copies of a classifier teacher held at once, like Triton's instance group: up to this many
    /// forwards of it run at the same time, each on its own copy (the batcher runs one forward
    /// thread per copy). On a CPU the copies share torch's threads: with work queued for every copy
    /// each forward runs on its share (several single-threaded forwards beat one forward spread over
    /// every core once many students keep it busy), and a forward while the other copies are idle
    /// runs on their threads too (see DynamicBatcher). A language model runs as one instance.
    /// </summary>
    [Range(1, 64)]
    public int Instances { get; set; } = 1;
}
