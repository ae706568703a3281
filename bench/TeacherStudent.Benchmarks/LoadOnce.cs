using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using static TorchSharp.torch;

namespace TeacherStudent.Benchmarks;

/// <summary>What one load in a fresh process measured: its time, and its memory above what the process held before it.</summary>
/// <param name="Seconds">Wall time of <see cref="HuggingFaceCheckpoint.Load"/>.</param>
/// <param name="CpuSeconds">Processor time the process spent in it, every thread (the GC's too): on a shared machine the steadier figure.</param>
/// <param name="BaselineBytes">Resident memory just before the load (TorchSharp initialised).</param>
/// <param name="PeakBytes">The process's peak resident memory (VmHWM), reset to the baseline just before the load.</param>
/// <param name="AfterBytes">Resident memory when the load has returned.</param>
/// <param name="ModelBytes">Bytes of the loaded parameters in their compute dtype (or of the fresh memory filled).</param>
/// <param name="PeakWasReset">Whether the peak could be reset before the load; if not, the peak includes the process's start.</param>
public sealed record LoadReading(double Seconds, double CpuSeconds, long BaselineBytes, long PeakBytes, long AfterBytes, long ModelBytes, bool PeakWasReset)
{
    public long PeakExtraBytes => PeakBytes - BaselineBytes;
    public long RetainedBytes => AfterBytes - BaselineBytes;
}

/// <summary>
/// The child side of the load benchmark (the hidden <c>load-once</c> command): initialises TorchSharp,
/// says "ready", waits for "go" on stdin (the parent may drop the page cache in between), loads the
/// model once on the CPU (or only fills as much fresh memory as it takes) and prints a <see cref="LoadReading"/> as one JSON line.
/// </summary>
public static class LoadOnce
{
    public const string Ready = "ready";
    public const string Go = "go";
    public const string ReadingPrefix = "reading ";

    /// <summary>Loads <paramref name="directory"/> with <see cref="HuggingFaceCheckpoint.Load"/> on the CPU.</summary>
    public static int Run(string directory) => Measure(() =>
    {
        var loaded = HuggingFaceCheckpoint.Load(directory, CPU);
        return (loaded.Model.parameters().Sum(p => p.numel() * p.ElementSize), DisposeAfterReading: loaded);
    });

    /// <summary>Reads only the tokenizer of <paramref name="directory"/> (its vocabulary and the native tokenizer), as the load does beside the weights.</summary>
    public static int Tokenizer(string directory) => Measure(() =>
    {
        var tokenizer = HuggingFaceTokenizer.Load(directory);
        return (0, DisposeAfterReading: tokenizer);
    });

    /// <summary>
    /// Writes <paramref name="bytes"/> of float32 ones into freshly allocated memory, advised into 2 MB pages as
    /// the loader advises its parameters: what any loader spends on the model's own memory (the kernel hands
    /// out and zeroes each page on its first write), without a file.
    /// </summary>
    public static int FreshMemory(long bytes) => Measure(() =>
    {
        var memory = empty(bytes / 4, ScalarType.Float32);
        _ = HugePages.Advise(memory);
        memory.fill_(1);
        return (bytes, DisposeAfterReading: memory);
    });

    private static int Measure(Func<(long Bytes, IDisposable DisposeAfterReading)> work)
    {
        using (var warm = ones(16)) warm.sum().Dispose(); // libtorch loaded and its allocator used before the baseline
        Console.WriteLine(Ready);
        if (Console.ReadLine() != Go) return 2;

        bool reset = ResetPeak();
        long baseline = Status("VmRSS");
        var self = Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var (bytes, result) = work();
        clock.Stop();
        self.Refresh();
        var cpu = self.TotalProcessorTime - cpuBefore;
        long peak = Status("VmHWM"), after = Status("VmRSS");
        result.Dispose();
        Console.WriteLine(ReadingPrefix + JsonSerializer.Serialize(new LoadReading(clock.Elapsed.TotalSeconds, cpu.TotalSeconds, baseline, peak, after, bytes, reset)));
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
