using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>
/// One black-box teacher behind an OpenAI-compatible HTTP endpoint: an item of the "Upstreams"
/// list (Upstreams:0:Name, Upstreams:0:BaseUrl, Upstreams:0:Model, ...). See <see cref="TeachersOptions"/>.
/// Times are in seconds and may be fractions.
/// </summary>
public sealed class UpstreamOptions : IValidatableObject
{
    /// <summary>The endpoint <c>{BaseUrl}/chat/completions</c>: the prompt is sent as one user message.</summary>
    public const string ChatEndpoint = "chat";

    /// <summary>The endpoint <c>{BaseUrl}/completions</c>: the prompt is continued as plain text.</summary>
    public const string CompletionsEndpoint = "completions";

    /// <summary>Name callers use to ask for this teacher; unique among all teachers, checkpoint ones included.</summary>
    [Required(AllowEmptyStrings = false)]
    [RegularExpression(TeacherNames.Pattern, ErrorMessage = TeacherNames.Rule)]
    public string Name { get; set; } = "";

    /// <summary>Base URL of the API, up to and including its version, e.g. https://api.example.com/v1.</summary>
    [Required(AllowEmptyStrings = false)]
    public string BaseUrl { get; set; } = "";

    /// <summary>The model asked for; also the teacher's version, so a new model never gets an old model's cached text.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Model { get; set; } = "";

    /// <summary>"chat" (/chat/completions, the prompt as one user message) or "completions" (/completions).</summary>
    public string Endpoint { get; set; } = ChatEndpoint;

    /// <summary>The API key, sent as "Authorization: Bearer". Prefer ApiKeyFile; empty with an empty ApiKeyFile = no key.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary>A file holding the API key (a mounted Secret), read at start; surrounding whitespace is ignored.</summary>
    public string ApiKeyFile { get; set; } = "";

    /// <summary>Longest one HTTP attempt may take, answer body included.</summary>
    [Range(0.01, 3600)]
    public double TimeoutSeconds { get; set; } = 60;

    /// <summary>Longest one sample may take, every attempt and wait between them included.</summary>
    [Range(0.01, 86400)]
    public double TotalTimeoutSeconds { get; set; } = 180;

    /// <summary>Attempts after the first on 408, 429, 5xx, a transport error or an attempt timeout; 0 = never retry.</summary>
    [Range(0, 100)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>Mean wait before the first retry; it doubles with every retry, with jitter.</summary>
    [Range(0, 3600)]
    public double RetryDelaySeconds { get; set; } = 1;

    /// <summary>Longest wait between two attempts, also when the upstream's Retry-After asks for longer.</summary>
    [Range(0, 3600)]
    public double MaxRetryDelaySeconds { get; set; } = 30;

    /// <summary>Circuit breaker: the share of failed attempts (as retried above) within BreakerSamplingSeconds that opens it.</summary>
    [Range(0.01, 1.0)]
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Circuit breaker: fewest attempts within BreakerSamplingSeconds before it may open.</summary>
    [Range(2, 100000)]
    public int BreakerMinimumThroughput { get; set; } = 10;

    /// <summary>Circuit breaker: the window over which failures are counted.</summary>
    [Range(0.5, 86400)]
    public double BreakerSamplingSeconds { get; set; } = 30;

    /// <summary>Circuit breaker: how long calls fail at once (UNAVAILABLE, the upstream not asked) once it opens; then one attempt probes.</summary>
    [Range(0.5, 86400)]
    public double BreakSeconds { get; set; } = 30;

    /// <summary>Most HTTP calls to this upstream in flight at once, over all callers; further samples wait their turn.</summary>
    [Range(1, 1024)]
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>Most samples (prompts x n) one Generate request may ask of this teacher.</summary>
    [Range(1, 100000)]
    public int MaxSamples { get; set; } = 256;

    /// <summary>max_new_tokens of a request that gives none.</summary>
    [Range(1, 1000000)]
    public int DefaultMaxNewTokens { get; set; } = 256;

    /// <summary>Largest max_new_tokens a request may ask for.</summary>
    [Range(1, 1000000)]
    public int MaxNewTokens { get; set; } = 4096;

    /// <summary>BaseUrl without a trailing '/', to which "/chat/completions" or "/completions" is added.</summary>
    public string TrimmedBaseUrl => BaseUrl.TrimEnd('/');

    /// <summary>The path after BaseUrl that Endpoint names.</summary>
    public string EndpointPath => string.Equals(Endpoint, CompletionsEndpoint, StringComparison.OrdinalIgnoreCase) ? "/completions" : "/chat/completions";

    /// <summary>True for the chat endpoint.</summary>
    public bool IsChat => !string.Equals(Endpoint, CompletionsEndpoint, StringComparison.OrdinalIgnoreCase);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            yield return new ValidationResult($"BaseUrl '{BaseUrl}' is not an absolute http or https URL (e.g. https://api.example.com/v1).", [nameof(BaseUrl)]);
        else if (!string.IsNullOrEmpty(url.UserInfo) || !string.IsNullOrEmpty(url.Query))
            // A key in the URL would be shown by Describe and in logs: keys go in ApiKey or ApiKeyFile.
            yield return new ValidationResult("BaseUrl must carry no user name, password or query string; give the key as ApiKey or ApiKeyFile.", [nameof(BaseUrl)]);
        if (!string.Equals(Endpoint, ChatEndpoint, StringComparison.OrdinalIgnoreCase) && !string.Equals(Endpoint, CompletionsEndpoint, StringComparison.OrdinalIgnoreCase))
            yield return new ValidationResult($"Endpoint '{Endpoint}' is not known; give '{ChatEndpoint}' or '{CompletionsEndpoint}'.", [nameof(Endpoint)]);
        if (!string.IsNullOrEmpty(ApiKey) && !string.IsNullOrEmpty(ApiKeyFile))
            yield return new ValidationResult("ApiKey and ApiKeyFile are both set; give one of them.", [nameof(ApiKey), nameof(ApiKeyFile)]);
        if (TimeoutSeconds > TotalTimeoutSeconds)
            yield return new ValidationResult(
                $"TimeoutSeconds ({TimeoutSeconds}) is longer than TotalTimeoutSeconds ({TotalTimeoutSeconds}); one attempt cannot take longer than the whole sample.",
                [nameof(TimeoutSeconds), nameof(TotalTimeoutSeconds)]);
        if (RetryDelaySeconds > MaxRetryDelaySeconds)
            yield return new ValidationResult($"RetryDelaySeconds ({RetryDelaySeconds}) is longer than MaxRetryDelaySeconds ({MaxRetryDelaySeconds}).",
                [nameof(RetryDelaySeconds), nameof(MaxRetryDelaySeconds)]);
        if (DefaultMaxNewTokens > MaxNewTokens)
            yield return new ValidationResult($"DefaultMaxNewTokens ({DefaultMaxNewTokens}) is larger than MaxNewTokens ({MaxNewTokens}).",
                [nameof(DefaultMaxNewTokens), nameof(MaxNewTokens)]);
    }
}
