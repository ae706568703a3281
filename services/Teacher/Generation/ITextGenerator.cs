using TeacherStudent.Contracts.V1;

namespace TeacherStudent.Teacher.Generation;

/// <summary>
/// How the samples of one Generate request are drawn, checked: every value in range, the
/// request's defaults filled in.
/// </summary>
/// <param name="MaxNewTokens">Most tokens one sample may write.</param>
/// <param name="Temperature">Logits are divided by this; 0 takes the most likely token.</param>
/// <param name="TopP">Nucleus sampling mass in (0, 1].</param>
/// <param name="Stop">A sample ends before the first of these it writes.</param>
/// <param name="Seed">With the prompt and the sample index, fixes a sample's draws.</param>
public sealed record GenerationSettings(int MaxNewTokens, double Temperature, double TopP, IReadOnlyList<string> Stop, long Seed);

/// <summary>One sample written by a teacher: the continuation only, why it ended, and what it cost in tokens.</summary>
public sealed record GeneratedText(string Text, FinishReason FinishReason, int PromptTokens, int CompletionTokens);

/// <summary>
/// A teacher that writes text: a language model held by this service, or an upstream
/// OpenAI-compatible endpoint. One call writes one sample; the Generate call asks for every
/// (prompt, sample index) of a request at once and lets the generator batch or bound them.
/// </summary>
public interface ITextGenerator
{
    /// <summary>What wrote the text: a checkpoint digest, or the upstream's model name.</summary>
    string Version { get; }

    /// <summary>
    /// Everything besides the request that decides the text, for the cache key: the version, and
    /// for an upstream also where it is called (another server may serve the same model name).
    /// </summary>
    string CacheScope => Version;

    /// <summary>
    /// Sample <paramref name="sampleIndex"/> of <paramref name="prompt"/>. A failure the caller
    /// should see is an <see cref="Grpc.Core.RpcException"/> with its status and a plain message.
    /// </summary>
    Task<GeneratedText> GenerateAsync(string prompt, int sampleIndex, GenerationSettings settings, CancellationToken cancellationToken);
}

/// <summary>What one Generate call may ask of a teacher.</summary>
/// <param name="MaxSamples">Most samples (prompts x n).</param>
/// <param name="DefaultMaxNewTokens">max_new_tokens when the call leaves it 0.</param>
/// <param name="MaxNewTokens">Largest max_new_tokens.</param>
public sealed record GenerationLimits(int MaxSamples, int DefaultMaxNewTokens, int MaxNewTokens);

/// <summary>The black-box teachers behind upstream endpoints, found by name.</summary>
public interface IUpstreamGenerators
{
    /// <summary>Their names, in order, for messages that list them ("" when there are none).</summary>
    string KnownNames { get; }

    /// <summary>The upstream teacher called <paramref name="name"/>: its generator and limits.</summary>
    bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ITextGenerator? generator, out GenerationLimits limits);
}

/// <summary>No upstream teachers: every name is unknown.</summary>
public sealed class NoUpstreamGenerators : IUpstreamGenerators
{
    public string KnownNames => "";

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ITextGenerator? generator, out GenerationLimits limits)
    {
        generator = null;
        limits = new GenerationLimits(0, 0, 0);
        return false;
    }
}
