using System.Globalization;

namespace TeacherStudent.Benchmarks;

/// <summary>Reads figures out of a Prometheus text exposition (the service's /metrics).</summary>
public static class PrometheusText
{
    /// <summary>The sum of every sample of <paramref name="metric"/> (all its label sets); 0 when there is none.</summary>
    public static double Sum(string exposition, string metric)
    {
        double sum = 0;
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith('#') || !line.StartsWith(metric, StringComparison.Ordinal)) continue;
            var rest = line.AsSpan(metric.Length);
            if (rest.Length == 0 || (rest[0] != ' ' && rest[0] != '{')) continue; // another metric sharing the prefix
            // name value, or name{labels} value, each perhaps with a timestamp after it
            var afterName = line.Contains('}') ? line[(line.LastIndexOf('}') + 1)..] : line[metric.Length..];
            var value = afterName.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
            sum += double.Parse(value, CultureInfo.InvariantCulture);
        }
        return sum;
    }
}
