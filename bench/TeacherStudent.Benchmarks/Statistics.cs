namespace TeacherStudent.Benchmarks;

/// <summary>Medians and percentiles: this machine is shared and noisy, so single times say little.</summary>
public static class Statistics
{
    public static double Median(IReadOnlyList<double> values) => Percentile(values, 0.5);

    /// <summary>The q-quantile by linear interpolation between order statistics.</summary>
    public static double Percentile(IReadOnlyList<double> values, double q)
    {
        if (values.Count == 0) throw new ArgumentException("no values", nameof(values));
        var sorted = values.Order().ToArray();
        double position = q * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
    }
}
