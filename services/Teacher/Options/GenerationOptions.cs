using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>
/// Generate on the language models this service holds (configuration section "Generation"):
/// samples of every call share batched generation runs of the teacher version they ask.
/// </summary>
public sealed class GenerationOptions : IValidatableObject
{
    public const string Section = "Generation";

    /// <summary>Most samples (rows) one generation run continues at once.</summary>
    [Range(1, 65536)]
    public int MaxBatch { get; set; } = 256;

    /// <summary>Longest a queued sample waits for others to fill its run, in milliseconds.</summary>
    [Range(0, 60_000)]
    public int MaxDelayMs { get; set; } = 5;

    /// <summary>Most samples (prompts x n) one Generate call may ask for.</summary>
    [Range(1, 1_000_000)]
    public int MaxSamples { get; set; } = 16384;

    /// <summary>max_new_tokens when a call leaves it 0.</summary>
    [Range(1, 65536)]
    public int DefaultMaxNewTokens { get; set; } = 64;

    /// <summary>Largest max_new_tokens a call may ask for (the model's context bounds it too).</summary>
    [Range(1, 65536)]
    public int MaxNewTokens { get; set; } = 1024;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DefaultMaxNewTokens > MaxNewTokens)
            yield return new ValidationResult(
                $"Generation:DefaultMaxNewTokens ({DefaultMaxNewTokens}) must not exceed Generation:MaxNewTokens ({MaxNewTokens}).",
                [nameof(DefaultMaxNewTokens)]);
    }
}
