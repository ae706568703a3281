using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>
/// Where the service's metrics are published (configuration section "Metrics"): a Prometheus
/// scrape endpoint at http://Host:Port/metrics, on its own HTTP/1.1 listener because the gRPC
/// port speaks HTTP/2 only.
/// </summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>Port of the Prometheus scrape endpoint; 0 = no endpoint (the default).</summary>
    [Range(0, 65535)]
    public int PrometheusPort { get; set; }

    /// <summary>Host the scrape endpoint answers on: localhost, or + for every interface (in a container).</summary>
    [Required(AllowEmptyStrings = false)]
    public string PrometheusHost { get; set; } = "localhost";
}
