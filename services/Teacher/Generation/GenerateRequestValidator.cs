using Grpc.Core;
using TeacherStudent.Contracts.V1;

namespace TeacherStudent.Teacher.Generation;

/// <summary>Checks a GenerateRequest against a teacher's limits; each problem is INVALID_ARGUMENT with a plain sentence.</summary>
public static class GenerateRequestValidator
{
    /// <summary>Most stop sequences one call may give.</summary>
    public const int MaxStopSequences = 8;

    /// <summary>Largest temperature accepted: beyond it every token is as likely as any other.</summary>
    public const float MaxTemperature = 100;

    /// <summary>The call's sampling settings with the defaults filled in, and its samples per prompt.</summary>
    public static (GenerationSettings Settings, int SamplesPerPrompt) Check(GenerateRequest request, GenerationLimits limits)
    {
        if (request.Prompts.Count == 0) throw Invalid("a Generate request needs at least one prompt.");
        if (request.N < 0) throw Invalid($"n (samples per prompt) must be 0 (meaning 1) or more, not {request.N}.");
        int n = Math.Max(1, request.N);
        long samples = (long)request.Prompts.Count * n;
        if (samples > limits.MaxSamples)
            throw Invalid($"{request.Prompts.Count} prompts x {n} samples = {samples} samples; teacher '{EchoedText.Of(request.Teacher)}' writes at most {limits.MaxSamples} per call: split the prompts over several calls.");
        if (request.MaxNewTokens < 0 || request.MaxNewTokens > limits.MaxNewTokens)
            throw Invalid($"max_new_tokens must be 0 (the default, {limits.DefaultMaxNewTokens}) to {limits.MaxNewTokens}, not {request.MaxNewTokens}.");
        float temperature = request.HasTemperature ? request.Temperature : 1;
        if (!(float.IsFinite(temperature) && temperature is >= 0 and <= MaxTemperature))
            throw Invalid($"temperature must be from 0 (always the most likely token) to {MaxTemperature}, not {temperature}.");
        float topP = request.HasTopP && request.TopP != 0 ? request.TopP : 1;
        if (!(topP is > 0 and <= 1)) throw Invalid($"top_p must be in (0, 1], not {topP}.");
        if (request.Stop.Count > MaxStopSequences) throw Invalid($"at most {MaxStopSequences} stop sequences, not {request.Stop.Count}.");
        if (request.Stop.Any(string.IsNullOrEmpty)) throw Invalid("a stop sequence must not be empty.");

        int maxNewTokens = request.MaxNewTokens == 0 ? limits.DefaultMaxNewTokens : request.MaxNewTokens;
        return (new GenerationSettings(maxNewTokens, temperature, topP, [.. request.Stop], request.Seed), n);
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
