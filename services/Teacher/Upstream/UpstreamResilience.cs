using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Upstream;

/// <summary>
/// The resilience pipeline around every HTTP attempt of one upstream teacher, outermost first:
/// a total timeout per sample; retries with exponential backoff and jitter (or the upstream's
/// Retry-After, capped) on 408, 429, 5xx, transport errors and attempt timeouts; a circuit
/// breaker over those same failures; a timeout per attempt. A caller's cancellation is none of
/// these failures: it is not retried and the breaker does not count it.
/// </summary>
public static class UpstreamResilience
{
    /// <summary>What the pipeline reports as it works, for logs and for the breaker's message.</summary>
    public interface IObserver
    {
        /// <summary>An attempt failed with <paramref name="failure"/>; attempt number <paramref name="nextAttempt"/> follows after <paramref name="delay"/>.</summary>
        void Retrying(int nextAttempt, TimeSpan delay, string failure);

        /// <summary>The breaker opened after <paramref name="failure"/>; calls fail at once for <paramref name="breakDuration"/>.</summary>
        void Opened(TimeSpan breakDuration, string failure);

        /// <summary>A probe succeeded: calls go through again.</summary>
        void Closed();
    }

    /// <summary>The pipeline for <paramref name="options"/>; <paramref name="describe"/> says what a failed attempt was, in words.</summary>
    public static ResiliencePipeline<UpstreamReply> Build(UpstreamOptions options, IObserver observer,
        Func<Outcome<UpstreamReply>, string> describe, TimeProvider time)
    {
        var maxDelay = TimeSpan.FromSeconds(options.MaxRetryDelaySeconds);
        var builder = new ResiliencePipelineBuilder<UpstreamReply> { TimeProvider = time }
            .AddTimeout(TimeSpan.FromSeconds(options.TotalTimeoutSeconds));
        if (options.MaxRetries > 0)
            builder.AddRetry(new RetryStrategyOptions<UpstreamReply>
            {
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(options.RetryDelaySeconds),
                MaxDelay = maxDelay,
                // The upstream knows best when it can take the next call; null falls back to the backoff.
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Result?.RetryAfter is { } asked ? (TimeSpan?)Clamp(asked, maxDelay) : null),
                OnRetry = args =>
                {
                    // AttemptNumber is 0 for the first attempt, the one that just failed.
                    observer.Retrying(args.AttemptNumber + 2, args.RetryDelay, describe(args.Outcome));
                    return ValueTask.CompletedTask;
                },
            });
        return builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<UpstreamReply>
            {
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
                FailureRatio = options.BreakerFailureRatio,
                MinimumThroughput = options.BreakerMinimumThroughput,
                SamplingDuration = TimeSpan.FromSeconds(options.BreakerSamplingSeconds),
                BreakDuration = TimeSpan.FromSeconds(options.BreakSeconds),
                OnOpened = args =>
                {
                    observer.Opened(args.BreakDuration, describe(args.Outcome));
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    observer.Closed();
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(TimeSpan.FromSeconds(options.TimeoutSeconds))
            .Build();
    }

    /// <summary>
    /// Whether an attempt failed in a way worth asking again (and worth counting against the
    /// upstream): a transient status, a transport error, or no answer within the attempt's
    /// timeout. A cancelled call (OperationCanceledException) is the caller's doing, not the
    /// upstream's; a broken circuit is not retried, so that it fails fast.
    /// </summary>
    public static bool IsTransient(Outcome<UpstreamReply> outcome) => outcome.Exception switch
    {
        null => outcome.Result!.IsTransient,
        TimeoutRejectedException or HttpRequestException or IOException => true,
        _ => false,
    };

    private static TimeSpan Clamp(TimeSpan asked, TimeSpan max) =>
        asked < TimeSpan.Zero ? TimeSpan.Zero : asked > max ? max : asked;
}
