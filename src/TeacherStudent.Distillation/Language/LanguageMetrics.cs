namespace TeacherStudent.Distillation.Language;

/// <summary>What one evaluation during a language-model run measured.</summary>
/// <param name="Step">Optimiser steps done (0: the untrained model).</param>
/// <param name="TrainLoss">Mean training objective over the steps since the last evaluation (null at step 0).</param>
/// <param name="ValidationLoss">Mean next-token cross-entropy on the validation windows, in nats.</param>
/// <param name="ValidationPerplexity">exp(<paramref name="ValidationLoss"/>).</param>
/// <param name="LearningRate">Learning rate of the last step.</param>
/// <param name="Tokens">Corpus tokens the student has read so far (batch size x context length per step).</param>
/// <param name="Seconds">Wall time of the run so far, across restarts.</param>
/// <param name="TeacherVersions">Teacher versions that answered since the last evaluation, in the order they first answered.</param>
public sealed record LanguageMetrics(int Step, double? TrainLoss, double ValidationLoss, double ValidationPerplexity, double LearningRate,
    long Tokens, double Seconds, IReadOnlyList<string> TeacherVersions);

/// <summary>Progress after an optimiser step, for a progress bar.</summary>
/// <param name="Loss">The step's training objective.</param>
/// <param name="TokensPerSecond">Corpus tokens per second of training in this process so far.</param>
public readonly record struct LanguageStepProgress(int Step, int Steps, double Loss, double TokensPerSecond);

/// <summary>Text a model wrote after a prompt.</summary>
public sealed record TextSample(string Prompt, string Text);

/// <summary>Everything a finished language-model run reports.</summary>
/// <param name="History">Every evaluation, from step 0 to the last.</param>
/// <param name="Test">Perplexity on the test split at the end.</param>
/// <param name="Tokens">Corpus tokens read: steps x batch size x context length, the same in every mode.</param>
/// <param name="GeneratedTokens">Tokens the student generated (on-policy only), including those drawn from the teacher.</param>
/// <param name="TeacherDraws">Generated tokens drawn from the teacher (teacher-mixed sampling).</param>
/// <param name="Parameters">Trainable values of the student.</param>
/// <param name="TeacherVersions">Every teacher version the run learned from, in the order they first answered.</param>
/// <param name="Seconds">Wall time across restarts.</param>
/// <param name="TrainSeconds">Of which training steps (targets, rollouts, forward, backward, update), without evaluations.</param>
/// <param name="OfflineTargetBytes">Bytes of the targets an offline run keeps in memory (0 otherwise).</param>
/// <param name="Samples">Text written after each of the run's sample prompts.</param>
public sealed record LanguageRunResult(
    IReadOnlyList<LanguageMetrics> History,
    PerplexityResult Test,
    int Steps,
    long Tokens,
    long GeneratedTokens,
    long TeacherDraws,
    long Parameters,
    IReadOnlyList<string> TeacherVersions,
    double Seconds,
    double TrainSeconds,
    long OfflineTargetBytes,
    IReadOnlyList<TextSample> Samples)
{
    /// <summary>A cross-tokenizer student's share of positions aligned with the teacher's in this process's steps; null for others.</summary>
    public double? AlignedShare { get; init; }

    /// <summary>The finished model on <see cref="LanguageTrainingRun.CorpusTest"/>, when one was given.</summary>
    public PerplexityResult? CorpusTest { get; init; }
}
