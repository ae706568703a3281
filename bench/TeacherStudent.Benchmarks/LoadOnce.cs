using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TeacherStudent.Distillation.Models;
using static TorchSharp.torch;

namespace TeacherStudent.Benchmarks;

/// <summary>What one load in a fresh process measured: its time, and its memory above what the process held before it.</summary>
/// <param name="Seconds">Wall time of <see cref="HuggingFaceCheckpoint.Load"/>.</param>
/// <param name="CpuSeconds">Processor time the process spent in it, every thread (the GC's too): on a shared machine the steadier figure.</param>
/// <param name="BaselineBytes">Resident memory just before the load (TorchSharp initialised).</param>
/// <param name="PeakBytes">The process's peak resident memory (VmHWM), reset to the baseline just before the load.</param>
/// <param name="AfterBytes">Resident memory when the load has returned.</param>
/// <param name="ModelBytes">Bytes of the loaded parameters in their compute dtype.</param>
/// <param name="PeakWasReset">Whether the peak could be reset before the load; if not, the peak includes the process's start.</param>
public sealed record LoadReading(double Seconds, double CpuSeconds, long BaselineBytes, long PeakBytes, long AfterBytes, long ModelBytes, bool PeakWasReset)
{
    public long PeakExtraBytes => PeakBytes - BaselineBytes;
    public long RetainedBytes => AfterBytes - BaselineBytes;
}

/// <summary>
/// The child side of the load benchmark (the hidden <c>load-once DIR</c> command): initialises TorchSharp,
/// says "ready", waits for "go" on stdin (the parent may drop the page cache in between), loads the
/// model once on the CPU and prints a <see cref="LoadReading"/> as one JSON line.
/// </summary>
public static class LoadOnce
{
    public const string Ready = "ready";
    public const string Go = "go";
    public const string ReadingPrefix = "reading ";

    public static int Run(string directory)
    {
        using (var warm = ones(16)) warm.sum().Dispose(); // libtorch loaded and its allocator used before the baseline
        Console.WriteLine(Ready);
        if (Console.ReadLine() != Go) return 2;

        bool reset = ResetPeak();
        long baseline = Status("VmRSS");
        var self = Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        using var loaded = HuggingFaceCheckpoint.Load(directory, CPU);
        clock.Stop();
        self.Refresh();
        var cpu = self.TotalProcessorTime - cpuBefore;
        long peak = Status("VmHWM"), after = Status("VmRSS");
        long modelBytes = loaded.Model.parameters().Sum(p => p.numel() * p.ElementSize);
        Console.WriteLine(ReadingPrefix + JsonSerializer.Serialize(new LoadReading(clock.Elapsed.TotalSeconds, cpu.TotalSeconds, baseline, peak, after, modelBytes, reset)));
        return 0;
    }

    // Writing 5 to clear_refs sets the peak resident size (VmHWM) back to the current one (Linux 4.0+).
    private static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>A "kB" line of /proc/self/status, in bytes.</summary>
    private static long Status(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}
