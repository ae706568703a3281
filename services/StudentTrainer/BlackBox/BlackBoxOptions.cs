using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.StudentTrainer.BlackBox;

/// <summary>
/// Where a black-box student's text comes from (configuration section "BlackBox"; switches of
/// <c>train-lm --mode blackbox</c>): prompts the teacher continues with Generate, and how its
/// samples become training text: each prompt + sample as it is (sequence-level distillation), or,
/// with <see cref="AnswerPattern"/>, only the answer its samples agree on, after the student's own
/// prompt (distilling System 2 into System 1).
/// </summary>
public sealed class BlackBoxOptions
{
    public const string Section = "BlackBox";

    [Description("blackbox: JSON lines of prompts for the teacher, one per line")]
    public string Prompts { get; set; } = "";

    [Description("blackbox: field of each line holding the teacher's prompt")]
    [Required(AllowEmptyStrings = false)]
    public string PromptField { get; set; } = "prompt";

    [Description("blackbox with --answer-pattern: field holding the student's prompt, before which the voted answer is written (missing: the teacher's prompt)")]
    [Required(AllowEmptyStrings = false)]
    public string StudentPromptField { get; set; } = "student_prompt";

    [Description("blackbox: samples the teacher writes per prompt")]
    [Range(1, 1024)]
    public int Samples { get; set; } = 1;

    [Description("blackbox: most tokens per sample (0 = the teacher's default)")]
    [Range(0, 65536)]
    public int MaxNewTokens { get; set; }

    [Description("blackbox: temperature of the teacher's samples (0 = its most likely text)")]
    [Range(0.0, 100.0)]
    public double GenerationTemperature { get; set; } = 1;

    [Description("blackbox: nucleus (top-p) of the teacher's samples")]
    [Range(1e-6, 1.0)]
    public double GenerationTopP { get; set; } = 1;

    [Description("blackbox: seed of the teacher's samples (the same seed lets its cache answer a second run)")]
    public long GenerationSeed { get; set; } = 1;

    [Description("blackbox: regular expression whose first group is the answer in a sample; when set, the student learns only the answers the samples agree on")]
    public string AnswerPattern { get; set; } = "";

    [Description("blackbox with --answer-pattern: share of a prompt's samples the winning answer needs (0 = a plain majority without ties)")]
    [Range(0.0, 1.0)]
    public double Agreement { get; set; }

    [Description("blackbox with --answer-pattern: what follows the student's prompt, {answer} standing for the voted answer")]
    [Required(AllowEmptyStrings = false)]
    public string AnswerTemplate { get; set; } = " {answer}";
}
