using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>
/// Generate on the language models this service holds (configuration section "Generation"):
/// samples of every call share one running batch per teacher version, joining and leaving it at
/// every step (continuous batching) within a budget of key-value cache.
/// </summary>
public sealed class GenerationOptions : IValidatableObject
{
    public const string Section = "Generation";

    /// <summary>Most samples (rows) a teacher version continues at once.</summary>
    [Range(1, 65536)]
    public int MaxBatch { get; set; } = 256;

    /// <summary>Longest a sample waits for others to join with it when nothing is being generated, in milliseconds (they are then read in one forward).</summary>
    [Range(0, 60_000)]
    public int MaxDelayMs { get; set; } = 5;

    /// <summary>
    /// Key-value cache, in tokens, the rows of one teacher version may take at once: a sample reserves its prompt and
    /// max_new_tokens (clipped at the context) when it joins, and the cache, padding included, never holds more. Samples
    /// beyond it wait; a sample larger than all of it is refused. A token costs layers x 2 x key/value heads x head width
    /// values of the model's dtype.
    /// </summary>
    [Range(2, int.MaxValue)]
    public int MaxKvTokens { get; set; } = 65536;

    /// <summary>Samples of one prompt that join together read it once (off: each reads it, to measure what sharing saves).</summary>
    public bool SharePrompts { get; set; } = true;

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
        if (MaxKvTokens <= DefaultMaxNewTokens)
            yield return new ValidationResult(
                $"Generation:MaxKvTokens ({MaxKvTokens}) must hold a sample of Generation:DefaultMaxNewTokens ({DefaultMaxNewTokens}) new tokens and at least one of prompt.",
                [nameof(MaxKvTokens)]);
    }
}
