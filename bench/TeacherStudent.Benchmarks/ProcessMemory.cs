using System.Globalization;

namespace TeacherStudent.Benchmarks;

/// <summary>A process's resident memory now (VmRSS) and at its peak so far (VmHWM), from /proc.</summary>
public sealed record ProcessMemory(long ResidentBytes, long PeakBytes)
{
    public static ProcessMemory Read(int processId)
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{processId}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kilobytes(line);
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kilobytes(line);
        }
        return new ProcessMemory(rss, peak);
    }

    // "VmRSS:	  123456 kB"
    private static long Kilobytes(string line) =>
        1024 * long.Parse(line.Split(' ', '\t', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}
