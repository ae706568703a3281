using System.Globalization;
using Grpc.Core;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace TeacherStudent.Teacher.Upstream;

/// <summary>
/// How an upstream's failures reach a caller: a gRPC status and one sentence that says which
/// upstream, what happened, and what the upstream itself said. The API key never appears: a
/// message the upstream echoed it in has it masked.
/// </summary>
public sealed class UpstreamFailures(string name, string model, string url, string apiKey)
{
    /// <summary>An error answer that was not retried, or still failed after every retry.</summary>
    public RpcException ForReply(UpstreamReply reply, int attempts)
    {
        var said = Said(reply);
        var (code, what) = reply.Status switch
        {
            // Retries did not help: the upstream is down or overloaded for now; a caller may try later.
            _ when reply.IsTransient => (StatusCode.Unavailable, $"answered {reply.StatusText} {Attempts(attempts)}"),
            // The service's own key is wrong, expired or not allowed this model: nothing the caller
            // sent is at fault and asking again will not help until an operator fixes the key, so
            // FAILED_PRECONDITION rather than UNAUTHENTICATED (which would blame the caller's key)
            // or UNAVAILABLE (which invites retrying for nothing).
            401 or 403 => (StatusCode.FailedPrecondition, $"refused this service's API key with {reply.StatusText}; an operator must fix the key configured for it"),
            // No such model or endpoint: the configuration is wrong, as above.
            404 => (StatusCode.FailedPrecondition, $"answered {reply.StatusText}: the model or the endpoint does not exist there"),
            // The request itself (a prompt too long for the model, too many stop sequences, ...).
            400 or 413 or 422 => (StatusCode.InvalidArgument, $"refused the request with {reply.StatusText}"),
            _ => (StatusCode.FailedPrecondition, $"refused the request with {reply.StatusText}"),
        };
        return Failure(code, what, said);
    }

    /// <summary>A 2xx answer whose body is not a completion.</summary>
    public RpcException ForMalformed(UpstreamReply reply, string problem) =>
        Failure(StatusCode.Unavailable, $"answered {reply.StatusText} with something that is not an OpenAI-compatible completion: {problem}", "");

    /// <summary>The circuit breaker is open: the upstream was not asked.</summary>
    public RpcException ForOpenCircuit(BrokenCircuitException e, TimeSpan breakDuration, string openedBy)
    {
        var left = e.RetryAfter ?? breakDuration;
        var seconds = Math.Max(1, (int)Math.Ceiling(left.TotalSeconds));
        var because = openedBy.Length > 0 ? $" (last failure: {openedBy})" : "";
        return Failure(StatusCode.Unavailable, $"is failing; calls are paused for {seconds} s{because}", "");
    }

    /// <summary>No answer in time: one attempt (after the last retry) or the sample as a whole.</summary>
    public RpcException ForTimeout(TimeoutRejectedException e, TimeSpan attemptTimeout, int attempts)
    {
        var what = e.Timeout > attemptTimeout
            ? $"did not answer within {Seconds(e.Timeout)} in all (the total timeout; {attempts} attempt{(attempts == 1 ? "" : "s")} begun)"
            : $"did not answer within {Seconds(e.Timeout)} (the timeout of one attempt) {Attempts(attempts)}";
        return Failure(StatusCode.DeadlineExceeded, what, "");
    }

    /// <summary>No HTTP answer at all: refused, reset, a name that does not resolve, a TLS failure.</summary>
    public RpcException ForTransport(Exception e, int attempts) =>
        Failure(StatusCode.Unavailable, $"could not be reached {Attempts(attempts)}", Masked(Innermost(e)));

    /// <summary>A failed attempt in a few words, for logs and for the breaker's message.</summary>
    public string Describe(Polly.Outcome<UpstreamReply> outcome) => outcome.Exception switch
    {
        null => Said(outcome.Result!) is { Length: > 0 } said ? $"{outcome.Result!.StatusText}: {said}" : outcome.Result!.StatusText,
        TimeoutRejectedException t => $"no answer within {Seconds(t.Timeout)}",
        var e => $"transport error: {Masked(Innermost(e))}",
    };

    private string Said(UpstreamReply reply) => Masked(OpenAiProtocol.ErrorMessage(reply.Body));

    private RpcException Failure(StatusCode code, string what, string said)
    {
        var message = $"upstream teacher '{name}' (model '{model}' at {url}) {what}";
        message += said.Length > 0 ? $": {said}" : ".";
        return new RpcException(new Status(code, Masked(message)));
    }

    // Upstreams have been seen to quote a rejected key back in full.
    private string Masked(string text) => apiKey.Length == 0 ? text : text.Replace(apiKey, "[API key]", StringComparison.Ordinal);

    private static string Attempts(int attempts) => attempts == 1 ? "on its only attempt" : $"on the last of {attempts} attempts";

    private static string Seconds(TimeSpan time) => string.Create(CultureInfo.InvariantCulture, $"{time.TotalSeconds:0.###} s");

    // "An error occurred while sending the request" says little; the socket error under it says what.
    private static string Innermost(Exception e)
    {
        var messages = new List<string>();
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (!messages.Any(m => m.Contains(inner.Message, StringComparison.Ordinal))) messages.Add(inner.Message);
        return string.Join(" ", messages.Select(m => m.TrimEnd('.') + "."));
    }
}
