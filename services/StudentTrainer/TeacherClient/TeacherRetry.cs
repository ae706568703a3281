using System.Globalization;
using System.Net.Sockets;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
using Polly;
using Polly.Retry;

namespace TeacherStudent.StudentTrainer.TeacherClient;

/// <summary>
/// Rides out a teacher service that goes away for a while (killed, restarted, redeployed): a
/// Polly retry with exponential backoff and jitter on the failures that mean "not there right
/// now" (UNAVAILABLE, a broken stream, a refused connection), for at most a bounded time per
/// call. Anything the teacher said about the request itself (a per-batch error such as
/// INVALID_ARGUMENT, NOT_FOUND, a timeout waiting for a reply) is not retried. A teacher that is
/// stopping (UNAVAILABLE, "the teacher service is stopping": a rolling update) answered what it
/// had read; the rest is asked again at once, on a new stream that the channel opens on another
/// replica when there is one, and with the usual backoff after that.
/// </summary>
public sealed class TeacherRetry
{
    private static readonly ResiliencePropertyKey<long> Started = new("teacher-retry.started");
    private const long NotStarted = long.MinValue; // no failure yet in this call

    private readonly ResiliencePipeline pipeline;
    private readonly TimeSpan budget;
    private readonly TimeProvider time;

    /// <param name="budget">How long one call may keep retrying, from its first transient failure (so a failure is retried at least once, however long the first attempt took); zero turns retrying off.</param>
    /// <param name="log">Receives one line per retry.</param>
    /// <param name="firstDelay">Mean delay before the first retry; it doubles with every retry up to <paramref name="maxDelay"/>.</param>
    /// <param name="maxDelay">Longest delay between two attempts.</param>
    public TeacherRetry(TimeSpan budget, Action<string> log, TimeSpan? firstDelay = null, TimeSpan? maxDelay = null, TimeProvider? time = null)
    {
        this.budget = budget;
        this.time = time ?? TimeProvider.System;
        if (budget <= TimeSpan.Zero)
        {
            pipeline = ResiliencePipeline.Empty;
            return;
        }
        pipeline = new ResiliencePipelineBuilder { TimeProvider = this.time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } e && IsTransient(e) && WithinBudget(args.Context)),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = firstDelay ?? TimeSpan.FromSeconds(0.5),
                MaxDelay = maxDelay ?? TimeSpan.FromSeconds(8),
                // The budget, not a count, ends the retries.
                MaxRetryAttempts = int.MaxValue,
                // A replica that stopped has sent all it will: the first retry goes at once (null = the backoff).
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                    args.AttemptNumber == 0 && IsStopping(args.Outcome.Exception) ? TimeSpan.Zero : null),
                OnRetry = args =>
                {
                    // AttemptNumber counts from 0 for the first attempt, the one that failed first.
                    log(string.Create(CultureInfo.InvariantCulture,
                        $"teacher unavailable ({Reason(args.Outcome.Exception!)}), retrying in {args.RetryDelay.TotalSeconds:0.0}s (attempt {args.AttemptNumber + 2})"));
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>A policy that never retries.</summary>
    public static TeacherRetry None { get; } = new(TimeSpan.Zero, _ => { });

    /// <summary>Runs <paramref name="attempt"/>, again after a delay for as long as it fails transiently and the budget lasts.</summary>
    public async Task<T> ExecuteAsync<T>(Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(Started, NotStarted);
        try
        {
            return await pipeline.ExecuteAsync(static (ctx, call) => new ValueTask<T>(call(ctx.CancellationToken)), context, attempt);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// Whether a failure means the teacher service is not there right now, so that the same
    /// request may well succeed later.
    /// </summary>
    public static bool IsTransient(Exception e) => e switch
    {
        RpcException { StatusCode: StatusCode.Unavailable } => true,
        // A stream cut by a dying server surfaces as INTERNAL or CANCELLED around an I/O error.
        RpcException r => r.Status.DebugException is { } inner && IsBrokenConnection(inner),
        _ => IsBrokenConnection(e),
    };

    private static bool IsBrokenConnection(Exception e) => e switch
    {
        IOException or HttpRequestException or SocketException => true,
        // Writing to a call the server has already ended.
        InvalidOperationException { Message: var m } when m.Contains("call is complete", StringComparison.Ordinal) => true,
        _ => e.InnerException is { } inner && IsBrokenConnection(inner),
    };

    /// <summary>Whether the failure is a teacher service saying it is stopping (the others of its replicas may not be).</summary>
    public static bool IsStopping(Exception? e) =>
        e is RpcException { StatusCode: StatusCode.Unavailable } r && r.Status.Detail.StartsWith(StatusDetails.StoppingPrefix, StringComparison.Ordinal);

    // The clock starts at the first failure, not the first attempt: on a loaded machine the first
    // attempt alone (a cold connection, the JIT) can outlast a short budget, which then allowed no retry.
    private bool WithinBudget(ResilienceContext context)
    {
        if (!context.Properties.TryGetValue(Started, out var started) || started == NotStarted)
        {
            context.Properties.Set(Started, time.GetTimestamp());
            return true;
        }
        return time.GetElapsedTime(started) < budget;
    }

    private static string Reason(Exception e) => IsStopping(e) ? "Stopping" : e is RpcException r ? r.StatusCode.ToString() : e.GetType().Name;
}
