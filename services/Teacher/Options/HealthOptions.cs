using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>The health service's own port (configuration section "Health").</summary>
public sealed class HealthOptions
{
    public const string Section = "Health";

    /// <summary>
    /// A port on which only grpc.health.v1 answers, every other rpc refused with PERMISSION_DENIED: for the kubelet's
    /// gRPC probes, which speak plaintext only, beside a TLS port for callers. The port needs a Kestrel endpoint of its
    /// own (Kestrel:Endpoints:Health:Url=http://0.0.0.0:PORT); 0 = none (the default), health answers wherever the rest does.
    /// </summary>
    [Range(0, 65535)]
    public int OnlyPort { get; set; }
}
