using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Training;
using TeacherStudent.StudentTrainer.Hosting;

namespace TeacherStudent.StudentTrainer.Images;

/// <summary>
/// How the student is trained (configuration section "Training"; environment variables
/// <c>Training__Epochs=5</c>; command-line switches <c>--epochs 5</c>).
/// </summary>
public sealed class TrainerOptions : IValidatableObject
{
    /// <summary>What <see cref="Mode"/> takes: the training modes, and self (generations, each taught by the one before).</summary>
    public static IReadOnlyList<string> Modes { get; } = [.. Enum.GetValues<TrainingMode>().Select(m => m.Name()), TrainJob.SelfMode];

    [Description("how the student learns: from labels (supervised), from soft targets fetched once (offline) or per batch (online), from the teacher's argmax as labels (pseudo), or born-again (self: generations, each taught by the one before)")]
    [Required, OneOf(typeof(TrainerOptions), nameof(Modes))]
    public string Mode { get; set; } = "supervised";

    [Description("generations of a self run: 1 is supervised, each next one learns from the one before (mode self only)")]
    [Range(1, 100)]
    public int Generations { get; set; } = 3;

    [Description("model to train: mlp for a student, convnet for a teacher")]
    [Required, OneOf(typeof(ModelSpec), nameof(ModelSpec.KnownArchitectures))]
    public string Architecture { get; set; } = "mlp";

    [Description("hidden units of the mlp, or first-block channels of the convnet (a multiple of 8 for the convnet)")]
    [Range(1, 65536)]
    public int Width { get; set; } = 256;

    [Description("passes over the training inputs")]
    [Range(1, 10000)]
    public int Epochs { get; set; } = 10;

    [Description("examples per optimiser step")]
    [Range(1, 65536)]
    public int BatchSize { get; set; } = 128;

    [Description("peak AdamW learning rate, cosine-decayed to 0")]
    [Range(1e-8, 10.0)]
    public double LearningRate { get; set; } = 2e-3;

    [Description("AdamW decoupled weight decay")]
    [Range(0.0, 10.0)]
    public double WeightDecay { get; set; } = 1e-4;

    [Description("temperature T of the soft targets, log_softmax(z/T); the range the teacher service accepts")]
    [Range(0.01, 100.0)]
    public double Temperature { get; set; } = 4;

    [Description("weight of the teacher term; 1 - alpha goes to cross-entropy on labels")]
    [Range(0.0, 1.0)]
    public double Alpha { get; set; } = 0.9;

    [Description("divergence D(teacher || student); jsd, skew_kl and skew_reverse_kl with their default mixing weight")]
    [Required, OneOf(typeof(DistillationLosses), nameof(DistillationLosses.Names), IgnoreCase = true)]
    public string Loss { get; set; } = "forward_kl";

    [Description("seed for initialisation, shuffling, dropout and augmentation")]
    public int Seed { get; set; } = 1;

    [Description("keep labels for only this many training examples (0 = all)")]
    [Range(0, int.MaxValue)]
    public int Labels { get; set; }

    [Description("seed that picks which examples keep their labels")]
    public int LabelSeed { get; set; }

    [Description("random shifts and flips (default: on for online, off otherwise)")]
    public bool? Augment { get; set; }

    [Description("random crops of half to all of each image, resized back to 28 x 28, before the shifts and flips (which it turns on)")]
    public bool Crops { get; set; }

    [Description("mixup within each batch: every image mixed with another, in a share drawn uniformly from 0 to 1; the teacher answers the mixed image (online students with --alpha 1: function matching)")]
    public bool Mixup { get; set; }

    [Description("hold out this many training examples and evaluate on them instead of the test set (0 = test set)")]
    [Range(0, 59999)]
    public int Validation { get; set; }

    [Description("train on only the first N training examples (0 = all); for quick runs and tests")]
    [Range(0, int.MaxValue)]
    public int TrainExamples { get; set; }

    [Description("evaluate on only the first N evaluation examples (0 = all); for quick runs and tests")]
    [Range(0, int.MaxValue)]
    public int EvalExamples { get; set; }

    [Description("directory with the Fashion-MNIST IDX files")]
    [Required]
    public string DataDirectory { get; set; } = TeacherStudent.Distillation.Data.FashionMnist.DefaultDirectory;

    [Description("where checkpoints, metrics.csv, curves.svg and report.json go; a run resumes from here")]
    [Required]
    public string RunDirectory { get; set; } = "artifacts/runs/student";

    [Description("where offline students keep fetched soft targets")]
    [Required]
    public string TargetsDirectory { get; set; } = "artifacts/targets";

    [Description("after every epoch, copy the model checkpoint atomically to DIR/NAME.ckpt, for a teacher service watching DIR (empty = off)")]
    public string PublishDirectory { get; set; } = "";

    [Description("NAME of the published checkpoint (the teacher's name in a watching teacher service)")]
    [Required, RegularExpression("^[A-Za-z0-9][A-Za-z0-9_.-]*$", ErrorMessage = "PublishName must be letters, digits, '_', '.' or '-', without a path.")]
    public string PublishName { get; set; } = "fashion";

    [Description("auto (cuda when available, else cpu), cpu or cuda[:n]")]
    [Required]
    public string Device { get; set; } = "auto";

    [Description("CPU threads for torch (0 = torch's default)")]
    [Range(0, 1024)]
    public int Threads { get; set; }

    [Description("name of this student in reports")]
    public string Name { get; set; } = "";

    [Description("scenario this student belongs to, in reports")]
    public string Scenario { get; set; } = "";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // libtorch 2.10's oneDNN computes wrong convolution input gradients on AVX-512 CPUs when a
        // convolution's input channels are not a multiple of 8 (the second block's input is Width
        // channels): such a ConvNet would train on wrong gradients there, silently.
        if (string.Equals(Architecture, ConvNet.Name, StringComparison.OrdinalIgnoreCase) && Width % 8 != 0)
            yield return new ValidationResult(
                $"Width of a convnet must be a multiple of 8 (got {Width}): libtorch computes wrong gradients for other widths on AVX-512 CPUs.",
                [nameof(Width)]);
    }
}
