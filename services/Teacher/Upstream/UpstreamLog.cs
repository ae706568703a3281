namespace TeacherStudent.Teacher.Upstream;

/// <summary>What upstream teachers log: retries, and the circuit breaker opening and closing.</summary>
internal static partial class UpstreamLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Upstream teacher {Teacher}: model {Model} at {Url}, at most {MaxConcurrency} calls at once, {Key}")]
    public static partial void UpstreamConfigured(this ILogger logger, string teacher, string model, string url, int maxConcurrency, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upstream teacher {Teacher} failed ({Failure}); retrying in {DelaySeconds:0.00} s (attempt {Attempt})")]
    public static partial void UpstreamRetrying(this ILogger logger, string teacher, string failure, double delaySeconds, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upstream teacher {Teacher} is failing ({Failure}); calls to it fail at once for {BreakSeconds:0.#} s, then one call probes it")]
    public static partial void UpstreamPaused(this ILogger logger, string teacher, string failure, double breakSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upstream teacher {Teacher} answers again; calls to it go through")]
    public static partial void UpstreamResumed(this ILogger logger, string teacher);
}
