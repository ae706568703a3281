using System.Text.Json;
using System.Text.Json.Serialization;
using TeacherStudent.Contracts.V1;

namespace TeacherStudent.Teacher.Upstream;

/// <summary>
/// The part of the OpenAI-compatible HTTP API a black-box teacher uses: a request for one
/// completion (chat or plain), the answer's text, finish reason and token counts, and the
/// message of an error body.
/// </summary>
public static class OpenAiProtocol
{
    /// <summary>
    /// The body of a request for one sample: <paramref name="prompt"/> as the one user message
    /// (chat) or as the text to continue (completions), n = 1, and the seed of this sample.
    /// </summary>
    public static CompletionRequest Request(string model, bool chat, string prompt, int sampleIndex, Generation.GenerationSettings settings) => new(
        Model: model,
        Prompt: chat ? null : prompt,
        Messages: chat ? [new ChatMessage("user", prompt)] : null,
        MaxTokens: settings.MaxNewTokens,
        // float: the request carried floats, and 0.7f is better sent as 0.7 than as 0.699999988.
        Temperature: (float)settings.Temperature,
        TopP: (float)settings.TopP,
        // Some servers refuse an empty list; no stop sequences is said by leaving it out.
        Stop: settings.Stop.Count > 0 ? settings.Stop : null,
        Seed: SampleSeed(settings.Seed, sampleIndex),
        N: 1);

    /// <summary>
    /// The seed sent for sample <paramref name="sampleIndex"/> of a request with
    /// <paramref name="seed"/>: both mixed (SplitMix64's finalizer) into 0..2^31-1, the range
    /// every OpenAI-compatible server takes. Samples of one request get unrelated seeds, and so do
    /// requests whose seeds differ by little (seed + index would make seed 1's first sample seed
    /// 0's second).
    /// </summary>
    public static long SampleSeed(long seed, int sampleIndex)
    {
        var z = unchecked((ulong)seed + 0x9E3779B97F4A7C15UL * ((ulong)sampleIndex + 1));
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (long)(z & 0x7FFF_FFFF);
    }

    /// <summary>
    /// The sample in a 200 answer, or null (with why) when the body is not an OpenAI-compatible
    /// completion with one choice.
    /// </summary>
    public static Generation.GeneratedText? ParseCompletion(string body, bool chat, out string problem)
    {
        CompletionResponse? response;
        try
        {
            response = JsonSerializer.Deserialize(body, OpenAiJson.Default.CompletionResponse);
        }
        catch (JsonException e)
        {
            problem = $"the body is not JSON ({e.Message})";
            return null;
        }
        if (response?.Choices is not [var choice, ..])
        {
            problem = "the body has no choices";
            return null;
        }
        var text = chat ? choice.Message?.Content : choice.Text;
        if (text is null)
        {
            problem = chat ? "its choice has no message content" : "its choice has no text";
            return null;
        }
        problem = "";
        return new Generation.GeneratedText(text, FinishReasonOf(choice.FinishReason),
            response.Usage?.PromptTokens ?? 0, response.Usage?.CompletionTokens ?? 0);
    }

    /// <summary>"stop" (and "eos", as some servers say) is STOP, "length" is LENGTH; anything else (a content filter, ...) is UNSPECIFIED.</summary>
    public static FinishReason FinishReasonOf(string? finishReason) => finishReason switch
    {
        "stop" or "eos" or "end_turn" => FinishReason.Stop,
        "length" or "max_tokens" => FinishReason.Length,
        _ => FinishReason.Unspecified,
    };

    /// <summary>
    /// The upstream's own words in an error body: <c>{"error": {"message": ...}}</c> (OpenAI),
    /// <c>{"error": "..."}</c>, <c>{"detail": ...}</c> or <c>{"message": ...}</c>; else the body
    /// itself, cut to <paramref name="maxLength"/> characters; empty for an empty body.
    /// </summary>
    public static string ErrorMessage(string body, int maxLength = 500)
    {
        var message = body.Trim();
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("error", out var error))
                {
                    if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var inner)) message = TextOf(inner);
                    else if (error.ValueKind == JsonValueKind.String) message = error.GetString()!;
                }
                else if (root.TryGetProperty("detail", out var detail)) message = TextOf(detail);
                else if (root.TryGetProperty("message", out var plain)) message = TextOf(plain);
            }
        }
        catch (JsonException)
        {
            // Not JSON (an HTML page from a proxy, plain text): the body itself is the message.
        }
        message = string.Join(' ', message.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return message.Length <= maxLength ? message : message[..maxLength] + "...";
    }

    private static string TextOf(JsonElement element) => element.ValueKind == JsonValueKind.String ? element.GetString()! : element.GetRawText();
}

/// <summary>The body of POST /chat/completions or /completions (only the fields of its kind are set).</summary>
public sealed record CompletionRequest(
    string Model, string? Prompt, IReadOnlyList<ChatMessage>? Messages, int MaxTokens,
    float Temperature, float TopP, IReadOnlyList<string>? Stop, long Seed, int N);

/// <summary>A chat message: role and content.</summary>
public sealed record ChatMessage(string Role, string? Content);

/// <summary>The fields of a completion answer that a teacher reads.</summary>
public sealed record CompletionResponse(IReadOnlyList<CompletionChoice>? Choices, CompletionUsage? Usage);

/// <summary>One choice: the text (completions) or message (chat), and why it ended.</summary>
public sealed record CompletionChoice(string? Text, ChatMessage? Message, string? FinishReason);

/// <summary>Tokens read and written, as the upstream counts them.</summary>
public sealed record CompletionUsage(int PromptTokens, int CompletionTokens);

/// <summary>JSON of the OpenAI-compatible API: snake_case, nulls left out, generated at build time.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CompletionRequest))]
[JsonSerializable(typeof(CompletionResponse))]
internal sealed partial class OpenAiJson : JsonSerializerContext;
