using Grpc.Core;
using TeacherStudent.Contracts.V1;
using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Operations;

/// <summary>
/// How the service stops (SIGTERM, a rolling update, a scale-down) without losing a request.
/// First health turns NOT_SERVING, for the whole service and every teacher, while the service
/// still answers as before for <see cref="ShutdownOptions.HealthDelaySeconds"/>, so that probes
/// and load balancers stop sending callers here. Then the drain: new SoftTargets and Generate
/// calls are refused, each open SoftTargets stream stops reading, answers the requests it has
/// read and ends with UNAVAILABLE saying the service is stopping (<see cref="Stopping"/>), and a
/// Generate call finishes. Whatever is still open after <see cref="ShutdownOptions.DrainSeconds"/>
/// is cut, with UNAVAILABLE too. All of it runs in <see cref="StoppingAsync"/>, which the host
/// calls before it stops any service, Kestrel included: Kestrel only stops listening and closes
/// connections once the calls are over, so no stream is reset.
/// </summary>
public sealed class GracefulStop(TeacherHealth health, IOptions<ShutdownOptions> options, ILogger<GracefulStop> logger) : IHostedLifecycleService
{
    // After the drain time, how long the calls get to end once cut.
    private static readonly TimeSpan CutGrace = TimeSpan.FromSeconds(2);

    // After the drain, how long connections stay open before Kestrel closes them. A .NET client
    // whose request stream is still open drops what it has received but not yet read when the
    // connection closes (SocketsHttpHandler aborts the stream), so a stream's last answers and its
    // status need a moment to be read.
    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(2);

    // Never disposed: calls still being aborted may link to their tokens after the host has stopped, and without timers they hold nothing.
    private readonly CancellationTokenSource draining = new(), cut = new();
    private readonly object gate = new();
    private readonly TaskCompletionSource allEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool refusing;
    private int open;
    private Task? stopping;

    /// <summary>Cancelled when the drain begins: open streams read no further request.</summary>
    public CancellationToken Draining => draining.Token;

    /// <summary>Cancelled when the drain time is over: what is still being answered is abandoned.</summary>
    public CancellationToken DrainTimeUp => cut.Token;

    /// <summary>
    /// A call that the drain waits for, until disposed; null once the drain has begun, and the
    /// call is then refused with <see cref="Refused"/>.
    /// </summary>
    public IDisposable? Enter()
    {
        lock (gate)
        {
            if (refusing) return null;
            open++;
        }
        return new OpenCall(this);
    }

    /// <summary>A new call after the drain began.</summary>
    public static RpcException Refused() => Stopping("it takes no new calls; call again, on another replica if there is one.");

    /// <summary>The end of a stream that answered every request it read before the drain.</summary>
    public static RpcException Drained() => Stopping(
        "every request this stream sent before the drain began was answered above; send the rest again on a new stream, to another replica if there is one.");

    /// <summary>The end of a call still open when the drain time ran out.</summary>
    public RpcException TimeUp() => Stopping(
        $"its drain time ({options.Value.DrainSeconds} s) ran out before this call was answered; send what was not answered again, to another replica if there is one.");

    private static RpcException Stopping(string what) => new(new Status(StatusCode.Unavailable, $"{StatusDetails.StoppingPrefix}: {what}"));

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        // Once, however often the host is stopped; started outside the lock that the calls leaving take.
        lock (gate) return stopping ??= Task.Run(() => StopAsyncCore(cancellationToken), CancellationToken.None);
    }

    // cancellationToken: the host's shutdown timeout (ShutdownOptions.StopSeconds) or a caller of StopAsync that stops waiting.
    private async Task StopAsyncCore(CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromSeconds(options.Value.HealthDelaySeconds);
        health.NotServing();
        logger.StopBegun(options.Value.HealthDelaySeconds, OpenCalls);
        if (delay > TimeSpan.Zero)
        {
            try { await Task.Delay(delay, cancellationToken); }
            catch (OperationCanceledException) { /* no more waiting: drain now */ }
        }

        // Every open stream stops reading before the first call is refused: a call refused proves
        // that no stream reads a request sent after it. A call that comes in between is drained at once.
        int drained = OpenCalls;
        await draining.CancelAsync();
        lock (gate)
        {
            refusing = true;
            drained = Math.Max(drained, open);
            if (open == 0) allEnded.TrySetResult();
        }
        logger.DrainBegun(drained, options.Value.DrainSeconds);
        try
        {
            await allEnded.Task.WaitAsync(TimeSpan.FromSeconds(options.Value.DrainSeconds), cancellationToken);
            logger.Drained(drained);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            logger.DrainCut(OpenCalls, options.Value.DrainSeconds);
            await cut.CancelAsync();
            try { await allEnded.Task.WaitAsync(CutGrace, CancellationToken.None); }
            catch (TimeoutException) { /* Kestrel aborts what is left */ }
        }
        if (drained > 0) await Task.Delay(Linger, CancellationToken.None);
    }

    private int OpenCalls
    {
        get
        {
            lock (gate) return open;
        }
    }

    private void Leave()
    {
        lock (gate)
        {
            if (--open == 0 && refusing) allEnded.TrySetResult();
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private sealed class OpenCall(GracefulStop stop) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0) stop.Leave();
        }
    }
}
