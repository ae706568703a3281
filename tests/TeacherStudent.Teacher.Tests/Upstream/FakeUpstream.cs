using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace TeacherStudent.Teacher.Tests.Upstream;

/// <summary>
/// An OpenAI-compatible HTTP server on a loopback port the OS picks (real Kestrel, HTTP/1.1):
/// POST {BaseUrl}/chat/completions and {BaseUrl}/completions. Each request takes the next
/// scripted reply (<see cref="Then"/>), or <see cref="Otherwise"/> when the script is used up,
/// and is recorded as it came, whatever the reply.
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<Reply> script = new();
    private readonly ConcurrentQueue<ReceivedRequest> received = new();
    private int requests;
    private int inFlight;
    private int maxInFlight;
    private int aborted;

    private FakeUpstream(WebApplication app) => this.app = app;

    /// <summary>http://127.0.0.1:PORT/v1</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>The reply to every request the script does not cover; at first one that names the request's prompt and seed.</summary>
    public Reply Otherwise { get; set; } = Reply.EchoSeed();

    /// <summary>Requests that reached the server so far.</summary>
    public int Requests => Volatile.Read(ref requests);

    /// <summary>Most requests it was answering at once.</summary>
    public int MaxInFlight => Volatile.Read(ref maxInFlight);

    /// <summary>Requests whose caller went away before they were answered.</summary>
    public int Aborted => Volatile.Read(ref aborted);

    /// <summary>Every request, in the order they arrived.</summary>
    public IReadOnlyList<ReceivedRequest> Received => [.. received];

    public static async Task<FakeUpstream> StartAsync()
    {
        // An empty builder: no appsettings.json (the teacher's, beside the tests, speaks HTTP/2 only), no logging.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore()
            .ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http1))
            // Port 0: Kestrel binds a free port itself, so no other process can take it in between.
            .UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var upstream = new FakeUpstream(app);
        app.Run(upstream.AnswerAsync);
        await app.StartAsync();
        upstream.BaseUrl = app.Urls.Single() + "/v1";
        return upstream;
    }

    /// <summary>The next requests get these replies, in order.</summary>
    public FakeUpstream Then(params Reply[] replies)
    {
        foreach (var reply in replies) script.Enqueue(reply);
        return this;
    }

    /// <summary>Waits (at most 5 s) until <paramref name="condition"/> holds, for what the server sees after the client has moved on.</summary>
    public async Task WaitUntilAsync(Func<FakeUpstream, bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(5);
        while (!condition(this) && DateTime.UtcNow < until) await Task.Delay(10);
    }

    private async Task AnswerAsync(HttpContext context)
    {
        Interlocked.Increment(ref requests);
        var now = Interlocked.Increment(ref inFlight);
        for (var max = Volatile.Read(ref maxInFlight); now > max; max = Volatile.Read(ref maxInFlight))
            Interlocked.CompareExchange(ref maxInFlight, now, max);
        try
        {
            var body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            var request = new ReceivedRequest(context.Request.Path, context.Request.Headers.Authorization.ToString(), body!.AsObject());
            received.Enqueue(request);
            var reply = script.TryDequeue(out var next) ? next : Otherwise;
            await reply.WriteAsync(context, request);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            Interlocked.Increment(ref aborted);
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

/// <summary>One request as the fake upstream got it.</summary>
public sealed record ReceivedRequest(string Path, string Authorization, JsonObject Body)
{
    public long Seed => Body["seed"]!.GetValue<long>();

    /// <summary>The text asked about: the one user message (chat) or the prompt (completions).</summary>
    public string Prompt => (string?)Body["messages"]?[0]?["content"] ?? (string?)Body["prompt"] ?? "";

    /// <summary>What <see cref="Reply.EchoSeed"/> answers to this request.</summary>
    public string Echo => $"{Prompt} / seed {Seed}";
}

/// <summary>How the fake upstream answers one request.</summary>
public sealed class Reply(Func<HttpContext, ReceivedRequest, Task> write)
{
    public Task WriteAsync(HttpContext context, ReceivedRequest request) => write(context, request);

    /// <summary>A completion of <paramref name="text"/>, shaped for the endpoint asked (a chat message or a text).</summary>
    public static Reply Completion(string text, string finishReason = "stop", int promptTokens = 7, int completionTokens = 3) =>
        new((context, request) => WriteCompletionAsync(context, request, text, finishReason, promptTokens, completionTokens));

    /// <summary>A completion whose text is "PROMPT / seed N", from the request: each sample shows which call wrote it.</summary>
    public static Reply EchoSeed() =>
        new((context, request) => WriteCompletionAsync(context, request, request.Echo, "stop", 7, 2));

    /// <summary>An OpenAI-style error: <c>{"error": {"message": ..., "type": ...}}</c> with <paramref name="status"/>.</summary>
    public static Reply Error(int status, string message, int? retryAfterSeconds = null) => new(async (context, _) =>
    {
        context.Response.StatusCode = status;
        if (retryAfterSeconds is { } seconds) context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await context.Response.WriteAsJsonAsync(new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = "server_error", ["code"] = null },
        });
    });

    /// <summary>A 200 whose body is not a completion.</summary>
    public static Reply Raw(string body) => new(async (context, _) =>
    {
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body);
    });

    /// <summary>Nothing until the caller goes away.</summary>
    public static Reply Hang() => new((context, _) => Task.Delay(Timeout.Infinite, context.RequestAborted));

    /// <summary><paramref name="then"/>, after <paramref name="delay"/> (unless the caller goes away first).</summary>
    public static Reply After(TimeSpan delay, Reply then) => new(async (context, request) =>
    {
        await Task.Delay(delay, context.RequestAborted);
        await then.WriteAsync(context, request);
    });

    private static Task WriteCompletionAsync(HttpContext context, ReceivedRequest request, string text, string finishReason, int promptTokens, int completionTokens)
    {
        var chat = request.Path.EndsWith("/chat/completions", StringComparison.Ordinal);
        if (!chat && !request.Path.EndsWith("/completions", StringComparison.Ordinal))
        {
            context.Response.StatusCode = 404;
            return context.Response.WriteAsJsonAsync(new JsonObject { ["error"] = new JsonObject { ["message"] = $"no route {request.Path}" } });
        }
        var choice = new JsonObject { ["index"] = 0, ["finish_reason"] = finishReason };
        if (chat) choice["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text };
        else choice["text"] = text;
        return context.Response.WriteAsJsonAsync(new JsonObject
        {
            ["id"] = "cmpl-1",
            ["object"] = chat ? "chat.completion" : "text_completion",
            ["model"] = request.Body["model"]?.GetValue<string>(),
            ["choices"] = new JsonArray(choice),
            ["usage"] = new JsonObject { ["prompt_tokens"] = promptTokens, ["completion_tokens"] = completionTokens, ["total_tokens"] = promptTokens + completionTokens },
        }, new JsonSerializerOptions());
    }
}
