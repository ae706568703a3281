using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// Everything that decides what a language-model training run computes, in one place. Saved with
/// its training state: a run resumes only with the same settings. Every mode takes the same
/// optimiser steps over the same number of corpus windows per step, so students trained in
/// different modes have read the same number of real tokens and are comparable.
/// </summary>
public sealed record LanguageTrainingSettings
{
    public LanguageTrainingMode Mode { get; init; } = LanguageTrainingMode.Supervised;
    public LlamaConfig Model { get; init; } = LlamaConfig.Small(2048, 128, layers: 2, width: 128, heads: 4); // the student's shape; its vocabulary may be padded past the tokenizer's
    public int ContextLength { get; init; } = 128;       // tokens the model reads per training window (at most the model's context)

    public int Steps { get; init; } = 1000;              // optimiser steps (the length of the run)
    public int BatchSize { get; init; } = 16;            // windows of context length + 1 tokens per step
    public double LearningRate { get; init; } = 1e-3;    // peak AdamW learning rate, reached after the warm-up
    public double MinLearningRate { get; init; } = 1e-4; // the cosine decays to this at the last step
    public int WarmupSteps { get; init; } = 50;          // linear warm-up from 0 over this many steps
    public double WeightDecay { get; init; } = 0.1;      // AdamW decay of matrices and embeddings (not of biases and norms)
    public double Beta2 { get; init; } = 0.99;           // AdamW's second-moment decay; nanoGPT's choice for small batches
    public double GradientClip { get; init; } = 1.0;     // clip the global gradient norm to this (0 = off)

    public string Loss { get; init; } = "forward_kl";    // divergence D(teacher || student), by name; or uld or projected_kl, for a teacher with another tokenizer
    public double? MixingWeight { get; init; }           // beta of jsd, alpha of the skew losses (null = the loss's default)
    public double Alpha { get; init; } = 0.5;            // weight of alpha * T^2 * D; 1 - alpha goes to CE on the real next tokens
    public double Temperature { get; init; } = 1;        // T of teacher and student distributions in D
    public int K { get; init; }                          // teacher tokens per position: 0 = all (dense), else k (sparse)
    public SparseTargetKind TargetKind { get; init; } = SparseTargetKind.TopK; // how the k tokens are chosen: top k, or drawn from the teacher

    public int OfflineWindows { get; init; } = 1024;     // offline: training windows whose targets are fetched up front
    public int NewTokens { get; init; } = 32;            // on-policy: tokens the student generates at the end of each window
    public double TeacherMixing { get; init; } = 0.2;    // on-policy: chance that a generated token is drawn from the teacher instead (MiniLLM)
    public bool LengthNormalisation { get; init; }       // on-policy: mean of D over each sequence's generated tokens, then over sequences
    public double OnPolicyFraction { get; init; } = 1;   // on-policy: share of steps on the student's samples (GKD's lambda); the others are online steps

    public int Seed { get; init; } = 1;                  // initialisation, windows, dropout and sampling
    public int EvalInterval { get; init; } = 100;        // evaluate on the validation split every this many steps (and at 0 and the end)
    public int EvalWindows { get; init; } = 64;          // validation windows per evaluation (0 = the whole split)
    public int CheckpointInterval { get; init; } = 100;  // write the checkpoint and training state every this many steps (and at the end)

    /// <summary>
    /// Whether an on-policy run trains <paramref name="step"/> on the student's own samples: a share
    /// <see cref="OnPolicyFraction"/> of the steps, spread evenly (every step at 1, every other at 0.5).
    /// </summary>
    public bool IsRolloutStep(int step) =>
        Mode == LanguageTrainingMode.OnPolicy && Math.Floor(step * OnPolicyFraction) > Math.Floor((step - 1) * OnPolicyFraction);

    /// <summary>
    /// True for the <see cref="UniversalLogitDistillation"/> and <see cref="VocabularyProjection"/> losses: the teacher
    /// may have another tokenizer; it is sent each window's text and the positions are aligned by bytes (<see cref="ByteAlignment"/>).
    /// </summary>
    public bool CrossTokenizer => string.Equals(Loss, UniversalLogitDistillation.LossName, StringComparison.OrdinalIgnoreCase) || Projected;

    /// <summary>True for the <see cref="VocabularyProjection"/> loss: forward KL against the teacher's distribution carried over to the student's tokens.</summary>
    public bool Projected => string.Equals(Loss, VocabularyProjection.LossName, StringComparison.OrdinalIgnoreCase);

    /// <summary>The divergence D of a shared vocabulary, by <see cref="Loss"/>; null for a cross-tokenizer student.</summary>
    public IDistillationLoss? Divergence() => CrossTokenizer ? null : DistillationLosses.Create(Loss, MixingWeight);

    /// <summary>The targets the teacher is asked for at the distillation temperature (the seed varies per request).</summary>
    public SequenceTargetSettings Targets(long seed) => new((float)Temperature, K, TargetKind, seed);

    /// <summary>This, or an <see cref="ArgumentException"/> that says which value is out of range.</summary>
    public LanguageTrainingSettings Validate()
    {
        Model.Validate();
        if (ContextLength < 2 || ContextLength > Model.ContextLength)
            throw new ArgumentException($"the training context must be between 2 and the model's context of {Model.ContextLength}, not {ContextLength}.");
        if (Steps < 1) throw new ArgumentException($"steps must be at least 1, not {Steps}.");
        if (BatchSize < 1) throw new ArgumentException($"the batch size must be at least 1, not {BatchSize}.");
        if (!(LearningRate > 0) || !(MinLearningRate >= 0) || MinLearningRate > LearningRate)
            throw new ArgumentException($"learning rates must satisfy 0 <= minimum ({MinLearningRate}) <= peak ({LearningRate}), peak above 0.");
        if (WarmupSteps < 0) throw new ArgumentException($"warm-up steps must be 0 or more, not {WarmupSteps}.");
        if (!(Temperature > 0 && double.IsFinite(Temperature))) throw new ArgumentException($"the temperature must be finite and above 0, not {Temperature}.");
        if (Alpha is not (>= 0 and <= 1)) throw new ArgumentException($"alpha must be between 0 and 1, not {Alpha}.");
        if (K < 0) throw new ArgumentException($"k must be 0 (dense targets) or more, not {K}.");
        if (CrossTokenizer)
        {
            var loss = Loss.ToLowerInvariant();
            if (Mode != LanguageTrainingMode.Online)
                throw new ArgumentException($"the {loss} loss learns from a teacher with another tokenizer, which scores the text of every batch: use mode online, not {Mode.Name()}.");
            if (Projected && K > 0)
                throw new ArgumentException($"the {loss} loss carries the probability of every teacher token over to the student's: ask for dense targets (k 0), not k {K}.");
            if (K > 0 && TargetKind != SparseTargetKind.TopK)
                throw new ArgumentException($"the {loss} loss compares the teacher's largest probabilities with the student's: ask for top_k or dense targets, not sampled ones.");
            if (MixingWeight is not null) throw new ArgumentException($"the {loss} loss has no mixing weight; leave it unset.");
        }
        else DistillationLosses.Create(Loss, MixingWeight);
        if (Mode == LanguageTrainingMode.Offline && OfflineWindows < 1)
            throw new ArgumentException($"an offline run needs at least 1 window of targets, not {OfflineWindows}.");
        if (Mode == LanguageTrainingMode.OnPolicy)
        {
            if (NewTokens < 1 || NewTokens >= ContextLength)
                throw new ArgumentException($"on-policy new tokens must be between 1 and the context length - 1 ({ContextLength - 1}), not {NewTokens}: the rest of the window is the prompt.");
            if (TeacherMixing is not (>= 0 and <= 1)) throw new ArgumentException($"the teacher mixing weight must be between 0 and 1, not {TeacherMixing}.");
            if (OnPolicyFraction is not (> 0 and <= 1)) throw new ArgumentException($"the on-policy fraction must be above 0 and at most 1, not {OnPolicyFraction}.");
        }
        if (EvalInterval < 0 || EvalWindows < 0 || CheckpointInterval < 0)
            throw new ArgumentException("the evaluation interval, evaluation windows and checkpoint interval must be 0 or more.");
        return this;
    }
}
