namespace TeacherStudent.Teacher.Upstream;

/// <summary>
/// What one HTTP attempt got back, read in full within the attempt's timeout: the status, the
/// body, and how long the upstream asked to be left alone (Retry-After), if it did.
/// </summary>
public sealed record UpstreamReply(int Status, string Reason, string Body, TimeSpan? RetryAfter)
{
    /// <summary>A 2xx answer: the body should hold the completion.</summary>
    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>
    /// A failure that may well pass if asked again: 408 (request timeout), 429 (too many
    /// requests) and every 5xx. These are retried and counted by the circuit breaker.
    /// </summary>
    public bool IsTransient => Status is 408 or 429 or >= 500;

    /// <summary>"HTTP 503 (Service Unavailable)", for messages.</summary>
    public string StatusText => string.IsNullOrEmpty(Reason) ? $"HTTP {Status}" : $"HTTP {Status} ({Reason})";
}
