using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>
/// Dynamic batching (configuration section "Batching"): examples from every stream asking one
/// teacher version share that version's forward passes.
/// </summary>
public sealed class BatchingOptions : IValidatableObject
{
    public const string Section = "Batching";

    /// <summary>Merge examples of concurrent requests into shared forwards; false = every request runs its own forward.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Most examples one forward pass runs (a request larger than this is spread over several).</summary>
    [Range(1, 65536)]
    public int MaxBatch { get; set; } = 256;

    /// <summary>
    /// Most tokens one forward of a language model runs: sequences of every stream are packed whole
    /// up to this (a request over it is spread over several forwards; one sequence over it runs alone).
    /// Bounds the forward's memory, which for top-k and dense targets is dominated by its [tokens, vocabulary] logits.
    /// </summary>
    [Range(1, 1 << 20)]
    public int MaxTokens { get; set; } = 4096;

    /// <summary>Longest a queued example waits for others to fill its forward, in milliseconds (0 = run whatever is queued at once).</summary>
    [Range(0, 60_000)]
    public int MaxDelayMs { get; set; } = 2;

    /// <summary>Most examples (a language model: sequences) waiting per teacher version; further callers wait for room until their call's deadline.</summary>
    [Range(1, int.MaxValue)]
    public int QueueCapacity { get; set; } = 8192;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // A queue that cannot hold one full forward would never reach MaxBatch.
        if (QueueCapacity < MaxBatch)
            yield return new ValidationResult(
                $"Batching:QueueCapacity ({QueueCapacity}) must be at least Batching:MaxBatch ({MaxBatch}).",
                [nameof(QueueCapacity)]);
    }
}
