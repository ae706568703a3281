using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.StudentTrainer.Hosting;

namespace TeacherStudent.StudentTrainer.Language;

/// <summary>
/// How a language-model student is trained on the fortunes corpus or a corpus file (configuration section
/// "LanguageTraining"; environment variables <c>LanguageTraining__Steps=500</c>; command-line
/// switches of <c>train-lm</c>, <c>--steps 500</c>).
/// </summary>
public sealed class LanguageTrainerOptions
{
    public const string Section = "LanguageTraining";

    /// <summary>What <see cref="Mode"/> takes: the language-model training modes, and blackbox (learning from generated text).</summary>
    public static IReadOnlyList<string> Modes { get; } = [.. LanguageTrainingModes.Names, LanguageTrainJob.BlackBoxMode];

    /// <summary>What <see cref="ExportDtype"/> takes.</summary>
    public static IReadOnlyDictionary<string, TorchSharp.torch.ScalarType> ExportDTypes { get; } = new Dictionary<string, TorchSharp.torch.ScalarType>
    {
        ["float32"] = TorchSharp.torch.ScalarType.Float32,
        ["bfloat16"] = TorchSharp.torch.ScalarType.BFloat16,
        ["float16"] = TorchSharp.torch.ScalarType.Float16,
    };

    /// <summary>What <see cref="Targets"/> takes, and the kind of sparse targets each name asks for.</summary>
    public static IReadOnlyDictionary<string, SparseTargetKind> TargetKinds { get; } =
        new Dictionary<string, SparseTargetKind> { ["top_k"] = SparseTargetKind.TopK, ["sampled"] = SparseTargetKind.Sampled };

    [Description("how the student learns: from the corpus alone (supervised), from the teacher's targets of a fixed set of windows fetched first (offline) or per batch (online), on its own samples scored by the teacher (on_policy), or by cross-entropy on text the teacher writes for --prompts (blackbox)")]
    [Required, OneOf(typeof(LanguageTrainerOptions), nameof(Modes))]
    public string Mode { get; set; } = "supervised";

    /// <summary>What <see cref="Loss"/> takes: the divergences of a shared vocabulary, and uld and projected_kl for a teacher with another tokenizer.</summary>
    public static IReadOnlyList<string> Losses { get; } = [.. DistillationLosses.Names, UniversalLogitDistillation.LossName, VocabularyProjection.LossName];

    [Description("divergence D(teacher || student); or, online only, for a teacher with another tokenizer (the teacher is sent each window's text and the positions whose tokens cover the same bytes are aligned): uld (Universal Logit Distillation: the sorted distributions' distance) or projected_kl (forward KL against the teacher's distribution carried over to the student's tokens, each teacher token to the student token its bytes begin with; needs --teacher-tokenizer and dense targets)")]
    [Required, OneOf(typeof(LanguageTrainerOptions), nameof(Losses), IgnoreCase = true)]
    public string Loss { get; set; } = "forward_kl";

    [Description("beta of jsd, or alpha of skew_kl and skew_reverse_kl (unset = the loss's default)")]
    [Range(0.0, 1.0)]
    public double? MixingWeight { get; set; }

    [Description("weight of alpha * T^2 * D; 1 - alpha goes to cross-entropy on the real next tokens (for on_policy: on the windows the prompts came from)")]
    [Range(0.0, 1.0)]
    public double Alpha { get; set; } = 0.5;

    [Description("temperature T of the teacher's and the student's distributions in D; the range the teacher service accepts")]
    [Range(0.01, 100.0)]
    public double Temperature { get; set; } = 1;

    [Description("teacher tokens per position: 0 = all of them (dense), else k (sparse)")]
    [Range(0, 1_000_000)]
    public int K { get; set; }

    [Description("how the k tokens are chosen: the k most likely, with the mass outside them (top_k), or drawn from the teacher, unbiased (sampled)")]
    [Required, OneOf(typeof(LanguageTrainerOptions), nameof(TargetKinds))]
    public string Targets { get; set; } = "top_k";

    [Description("the student's family when it is built from --layers, --width and --heads: its config.json architecture")]
    [Required, OneOf(typeof(LlamaConfig), nameof(LlamaConfig.SupportedArchitectures))]
    public string Architecture { get; set; } = "LlamaForCausalLM";

    [Description("a Hugging Face config.json of a supported family for a fresh student (e.g. two Qwen3 layers), instead of --architecture, --layers, --width, --heads, --kv-heads and --pad-vocabulary-to; its vocab_size must cover the tokenizer's")]
    public string StudentConfig { get; set; } = "";

    [Description("transformer blocks of the student")]
    [Range(1, 256)]
    public int Layers { get; set; } = 2;

    [Description("width of the residual stream (embedding size)")]
    [Range(1, 65536)]
    public int Width { get; set; } = 128;

    [Description("attention heads per block; must divide the width")]
    [Range(1, 1024)]
    public int Heads { get; set; } = 4;

    [Description("key/value heads per block (grouped-query attention); 0 = as many as --heads, else a divisor of it")]
    [Range(0, 1024)]
    public int KvHeads { get; set; }

    [Description("tokens the model reads at once; training windows are this + 1 tokens (at most the model's context with --student-config or --init-checkpoint)")]
    [Range(2, 65536)]
    public int ContextLength { get; set; } = 128;

    [Description("dropout on the attention weights while training (the config's attention_dropout)")]
    [Range(0.0, 0.99)]
    public double Dropout { get; set; }

    [Description("vocabulary of the BPE tokenizer trained on the train split (ignored with --tokenizer)")]
    [Range(257, 1_000_000)]
    public int VocabularySize { get; set; } = 2048;

    [Description("pad the model's output vocabulary up to a multiple of N (0 = none); distributions stay over the tokenizer's")]
    [Range(0, 65536)]
    public int PadVocabularyTo { get; set; }

    [Description("the tokenizer to use instead of training one: a model directory or a tokenizer.json, e.g. the teacher's model directory (a student must use its teacher's, except with --loss uld or projected_kl)")]
    public string Tokenizer { get; set; } = "";

    [Description("the teacher's tokenizer, a model directory or a tokenizer.json, for --loss projected_kl: its tokens are carried over to the student's by their bytes (checked against the tokenizer the teacher service reports)")]
    public string TeacherTokenizer { get; set; } = "";

    [Description("start from this Hugging Face model directory's weights (fine-tuning) instead of a random initialisation; its config and tokenizer are used, and --architecture, --layers, --width, --heads, --kv-heads, --student-config, --vocabulary-size and --tokenizer are ignored")]
    public string InitCheckpoint { get; set; } = "";

    [Description("the dtype of the weights in the model directory the run writes (model/model.safetensors); training is in float32 either way")]
    [Required, OneOf(typeof(LanguageTrainerOptions), nameof(ExportDTypes))]
    public string ExportDtype { get; set; } = "float32";

    [Description("optimiser steps; every mode reads batch size x context length corpus tokens per step")]
    [Range(1, 100_000_000)]
    public int Steps { get; set; } = 1000;

    [Description("windows per optimiser step")]
    [Range(1, 65536)]
    public int BatchSize { get; set; } = 16;

    [Description("peak AdamW learning rate, after a linear warm-up, cosine-decayed to --min-learning-rate")]
    [Range(1e-8, 10.0)]
    public double LearningRate { get; set; } = 1e-3;

    [Description("learning rate at the last step")]
    [Range(0.0, 10.0)]
    public double MinLearningRate { get; set; } = 1e-4;

    [Description("steps of linear learning-rate warm-up")]
    [Range(0, 100_000_000)]
    public int WarmupSteps { get; set; } = 50;

    [Description("AdamW decoupled weight decay of matrices and embeddings")]
    [Range(0.0, 10.0)]
    public double WeightDecay { get; set; } = 0.1;

    [Description("clip the global gradient norm to this (0 = off)")]
    [Range(0.0, 1e6)]
    public double GradientClip { get; set; } = 1.0;

    [Description("offline: training windows whose targets are fetched before training")]
    [Range(1, 10_000_000)]
    public int OfflineWindows { get; set; } = 1024;

    [Description("on_policy: tokens the student generates at the end of each window (the rest of the window is the prompt)")]
    [Range(1, 65535)]
    public int NewTokens { get; set; } = 32;

    [Description("on_policy: chance that a generated token is drawn from the teacher instead of the student (MiniLLM's teacher-mixed sampling)")]
    [Range(0.0, 1.0)]
    public double TeacherMixing { get; set; } = 0.2;

    [Description("on_policy: average D over each sequence's generated tokens, then over sequences (instead of over all generated tokens)")]
    public bool LengthNormalisation { get; set; }

    [Description("on_policy: share of the steps that train on the student's own samples (GKD's lambda); the others are online steps on corpus windows")]
    [Range(1e-6, 1.0)]
    public double OnPolicyFraction { get; set; } = 1;

    [Description("seed for initialisation, windows, dropout and sampling")]
    public int Seed { get; set; } = 1;

    [Description("evaluate on the validation split every N steps (and before the first and after the last; 0 = only after the last)")]
    [Range(0, 100_000_000)]
    public int EvalInterval { get; set; } = 100;

    [Description("validation windows per evaluation (0 = the whole split)")]
    [Range(0, 100_000_000)]
    public int EvalWindows { get; set; } = 64;

    [Description("write the checkpoint and training state every N steps (and after the last; 0 = only after the last)")]
    [Range(0, 100_000_000)]
    public int CheckpointInterval { get; set; } = 100;

    [Description("test windows for the final perplexity (0 = the whole test split)")]
    [Range(0, 100_000_000)]
    public int TestWindows { get; set; }

    [Description("most tokens of each sample text in the report")]
    [Range(0, 4096)]
    public int SampleTokens { get; set; } = 48;

    [Description("temperature of the sample texts in the report (0 = greedy)")]
    [Range(0.0, 100.0)]
    public double SampleTemperature { get; set; } = 0.8;

    [Description("nucleus (top-p) of the sample texts in the report")]
    [Range(1e-6, 1.0)]
    public double SampleTopP { get; set; } = 0.95;

    [Description("blackbox: also measure the student on the test split of the corpus (--corpus-directory or --corpus-file) that the teacher's text stands in for")]
    public bool CorpusTest { get; set; }

    [Description("directory of the fortune files")]
    [Required]
    public string CorpusDirectory { get; set; } = TeacherStudent.Distillation.Text.FortunesCorpus.DefaultDirectory;

    [Description("a file of entries separated by lines holding only % (the fortune format) to train on instead of the fortune files, e.g. system2-data's teacher-corpus.txt; split by entry like them")]
    public string CorpusFile { get; set; } = "";

    [Description("where model/ (a Hugging Face model directory), tokenizer/ (when trained here), state.bin, metrics.csv, curves.svg and report.json go; a run resumes from here")]
    [Required]
    public string RunDirectory { get; set; } = "artifacts/runs/lm-student";

    [Description("auto (cuda when available, else cpu), cpu or cuda[:n]")]
    [Required]
    public string Device { get; set; } = "auto";

    [Description("CPU threads for torch (0 = torch's default)")]
    [Range(0, 1024)]
    public int Threads { get; set; }

    [Description("name of this student in reports")]
    public string Name { get; set; } = "";
}
