using System.Net.Http.Headers;
using System.Text.Json;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Generation;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Upstream;

/// <summary>
/// A black-box teacher: an OpenAI-compatible endpoint writes its text. Each sample is one HTTP
/// call with n = 1 and a seed of its own (see <see cref="OpenAiProtocol.SampleSeed"/>), so that
/// its tokens are known exactly from the answer's usage and it can be cached alone. Calls go
/// through <see cref="UpstreamResilience"/>, at most <see cref="UpstreamOptions.MaxConcurrency"/>
/// at a time; failures become <see cref="Grpc.Core.RpcException"/>s (see <see cref="UpstreamFailures"/>).
/// </summary>
public sealed class UpstreamTeacher : ITextGenerator, UpstreamResilience.IObserver
{
    /// <summary>The IHttpClientFactory client every upstream call goes through.</summary>
    public const string HttpClientName = "upstream";

    private readonly UpstreamOptions options;
    private readonly string apiKey;
    private readonly IHttpClientFactory httpClients;
    private readonly ILogger logger;
    private readonly ResiliencePipeline<UpstreamReply> pipeline;
    private readonly UpstreamFailures failures;
    private readonly SemaphoreSlim slots;
    private readonly Uri url;
    private string openedBy = "";

    /// <param name="options">The upstream, validated.</param>
    /// <param name="apiKey">The key read from ApiKey or ApiKeyFile; empty for none.</param>
    /// <param name="httpClients">Gives the <see cref="HttpClientName"/> client, whose own timeout must be off (the pipeline times calls).</param>
    public UpstreamTeacher(UpstreamOptions options, string apiKey, IHttpClientFactory httpClients, ILogger<UpstreamTeacher> logger, TimeProvider? time = null)
    {
        this.options = options;
        this.apiKey = apiKey;
        this.httpClients = httpClients;
        this.logger = logger;
        url = new Uri(options.TrimmedBaseUrl + options.EndpointPath);
        failures = new UpstreamFailures(options.Name, options.Model, url.ToString(), apiKey);
        pipeline = UpstreamResilience.Build(options, this, failures.Describe, time ?? TimeProvider.System);
        slots = new SemaphoreSlim(options.MaxConcurrency);
    }

    /// <summary>Name callers use to ask for this teacher.</summary>
    public string Name => options.Name;

    /// <summary>The upstream's model name: what wrote the text.</summary>
    public string Version => options.Model;

    /// <summary>The model and the URL it is called at: the same model name elsewhere, or on the other endpoint, is other text.</summary>
    public string CacheScope => $"{options.Model} {url}";

    /// <summary>Base URL of the API, as configured.</summary>
    public string BaseUrl => options.BaseUrl;

    /// <summary>"chat" or "completions".</summary>
    public string Endpoint => options.IsChat ? UpstreamOptions.ChatEndpoint : UpstreamOptions.CompletionsEndpoint;

    /// <summary>What one Generate call may ask of this teacher.</summary>
    public GenerationLimits Limits => new(options.MaxSamples, options.DefaultMaxNewTokens, options.MaxNewTokens);

    /// <summary>What Describe says about this teacher.</summary>
    public TeacherInfo Describe() => UpstreamDescription.For(this);

    public async Task<GeneratedText> GenerateAsync(string prompt, int sampleIndex, GenerationSettings settings, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(
            OpenAiProtocol.Request(options.Model, options.IsChat, prompt, sampleIndex, settings), OpenAiJson.Default.CompletionRequest);
        var call = new Call(this, body);
        // Waiting for a slot is not the upstream's time: the timeouts start once the call does.
        await slots.WaitAsync(cancellationToken);
        UpstreamReply reply;
        try
        {
            reply = await pipeline.ExecuteAsync(static (call, ct) => call.Teacher.AttemptAsync(call, ct), call, cancellationToken);
        }
        catch (BrokenCircuitException e)
        {
            throw failures.ForOpenCircuit(e, TimeSpan.FromSeconds(options.BreakSeconds), Volatile.Read(ref openedBy));
        }
        catch (TimeoutRejectedException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw failures.ForTimeout(e, TimeSpan.FromSeconds(options.TimeoutSeconds), call.Attempts);
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            throw failures.ForTransport(e, call.Attempts);
        }
        finally
        {
            slots.Release();
        }
        if (!reply.IsSuccess) throw failures.ForReply(reply, call.Attempts);
        return OpenAiProtocol.ParseCompletion(reply.Body, options.IsChat, out var problem) ?? throw failures.ForMalformed(reply, problem);
    }

    // One HTTP attempt, the answer read in full: a body that stalls is this attempt's timeout.
    private async ValueTask<UpstreamReply> AttemptAsync(Call call, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref call.Attempts);
        // Bytes with a length rather than a streamed JsonContent: some servers refuse chunked request bodies.
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(call.Body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (apiKey.Length > 0) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var http = httpClients.CreateClient(HttpClientName);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return new UpstreamReply((int)response.StatusCode, response.ReasonPhrase ?? "", text, RetryAfter(response.Headers.RetryAfter));
    }

    private static TimeSpan? RetryAfter(RetryConditionHeaderValue? header) => header switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow,
        _ => null,
    };

    void UpstreamResilience.IObserver.Retrying(int nextAttempt, TimeSpan delay, string failure) =>
        logger.UpstreamRetrying(Name, failure, delay.TotalSeconds, nextAttempt);

    void UpstreamResilience.IObserver.Opened(TimeSpan breakDuration, string failure)
    {
        Volatile.Write(ref openedBy, failure);
        logger.UpstreamPaused(Name, failure, breakDuration.TotalSeconds);
    }

    void UpstreamResilience.IObserver.Closed() => logger.UpstreamResumed(Name);

    // One sample's call: the request body, sent as is by every attempt, and how many attempts were made.
    private sealed class Call(UpstreamTeacher teacher, byte[] body)
    {
        public int Attempts;
        public UpstreamTeacher Teacher { get; } = teacher;
        public byte[] Body { get; } = body;
    }
}
