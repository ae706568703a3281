using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>
/// How the service stops on SIGTERM (configuration section "Shutdown"): health turns NOT_SERVING,
/// the service answers as before for <see cref="HealthDelaySeconds"/>, then drains for at most
/// <see cref="DrainSeconds"/>. In Kubernetes <see cref="StopSeconds"/> must stay below the pod's
/// terminationGracePeriodSeconds, or the kubelet kills the process mid-drain.
/// </summary>
public sealed class ShutdownOptions
{
    public const string Section = "Shutdown";

    /// <summary>After the drain, time for Kestrel to close its connections (and cut a health Watch still open).</summary>
    public const int CloseSeconds = 5;

    /// <summary>
    /// Seconds between health turning NOT_SERVING and the drain, while the service still answers
    /// as before, so that readiness probes and load balancers take it out of rotation before any
    /// stream ends (0 = drain at once; in a cluster, about one readiness period).
    /// </summary>
    [Range(0, 300, ErrorMessage = "Shutdown:HealthDelaySeconds must be between 0 and 300.")]
    public int HealthDelaySeconds { get; set; }

    /// <summary>
    /// Longest the drain lasts: open SoftTargets streams answer the requests they have read and
    /// end with UNAVAILABLE, Generate calls finish; whatever is still open after this long ends
    /// with UNAVAILABLE too.
    /// </summary>
    [Range(1, 3600, ErrorMessage = "Shutdown:DrainSeconds must be between 1 and 3600.")]
    public int DrainSeconds { get; set; } = 20;

    /// <summary>The whole stop, delay, drain and closing: the host's shutdown timeout.</summary>
    public int StopSeconds => HealthDelaySeconds + DrainSeconds + CloseSeconds;
}
