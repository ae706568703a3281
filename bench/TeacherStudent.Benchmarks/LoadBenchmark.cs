using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace TeacherStudent.Benchmarks;

/// <summary>What the load benchmark measures with.</summary>
/// <param name="WorkDirectory">Where the synthetic model directories are written (and deleted afterwards unless <paramref name="Keep"/>).</param>
/// <param name="TokenizerDirectory">A directory holding the real tokenizer.json (and tokenizer_config.json) the model is saved with.</param>
public sealed record LoadSettings(string WorkDirectory, string TokenizerDirectory, int Repeats, bool Keep);

/// <summary>
/// Issue 14's loading figures: a Hugging Face model directory of a few hundred MB loaded in a fresh
/// process, beside <c>cat</c> of the same files to /dev/null, alternating, repeat by repeat; with a
/// warm page cache, and with a cold one when this process may drop it (root). Memory is the load's
/// peak resident size above the process's before it, set against the loaded parameters' bytes.
/// </summary>
public sealed class LoadBenchmark(LoadSettings settings)
{
    private const double MB = 1e6;
    private readonly List<Figure> figures = [];

    public IReadOnlyList<Figure> Run()
    {
        var single = Path.Combine(settings.WorkDirectory, "single");
        var sharded = Path.Combine(settings.WorkDirectory, "sharded");
        if (Directory.Exists(settings.WorkDirectory)) Directory.Delete(settings.WorkDirectory, recursive: true);
        Console.WriteLine($"writing a random {SyntheticModel.Config.Architecture} to {single} and {sharded} ...");
        SyntheticModel.Write(single, sharded, settings.TokenizerDirectory);
        try
        {
            bool cold = PageCache.TryDrop();
            Console.WriteLine(cold ? "the page cache can be dropped: warm and cold" : "the page cache cannot be dropped here (not root?): warm only");
            Variant[] variants = [new("", single), new("_sharded", sharded)];
            // Untimed: the runtime's own files cached like the model's.
            var modelBytes = variants.Select(v => LoadInChild(v.Directory, dropFirst: false)).ToArray()[0].ModelBytes;
            var fresh = new List<LoadReading>();
            var tokenizer = new List<LoadReading>();
            for (int r = 0; r < settings.Repeats; r++)
            {
                fresh.Add(Child(["load-once", single, "--fresh-memory", modelBytes.ToString(CultureInfo.InvariantCulture)], dropFirst: false));
                tokenizer.Add(Child(["load-once", single, "--tokenizer-only"], dropFirst: false));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  repeat {r + 1}: fresh memory {fresh[^1].Seconds:0.000} s ({fresh[^1].CpuSeconds:0.000} s CPU), tokenizer {tokenizer[^1].Seconds:0.000} s"));
                foreach (var v in variants) v.Warm.Measure(v.Directory, dropFirst: false);
                if (cold) foreach (var v in variants) v.Cold.Measure(v.Directory, dropFirst: true);
                foreach (var v in variants)
                    Console.WriteLine($"  repeat {r + 1}{v.Suffix}: {v.Warm.Describe()}{(cold ? "; cold " + v.Cold.Describe() : "")}");
            }
            double freshSeconds = Statistics.Median(fresh.Select(f => f.Seconds).ToArray());
            Add("fresh_memory_seconds", freshSeconds, "s", "reported",
                $"filling {modelBytes / MB:0} MB (the loaded parameters' bytes) of freshly allocated memory with ones in a fresh process, in 2 MB pages as the loader asks for them: what any loader spends on the model's own memory here");
            Add("tokenizer_seconds", Statistics.Median(tokenizer.Select(t => t.Seconds).ToArray()), "s", "reported",
                $"reading only the model's tokenizer.json ({new FileInfo(Path.Combine(single, "tokenizer.json")).Length / MB:0} MB) in a fresh process: its vocabulary and the native tokenizer; the load does it on another thread beside the weights");
            foreach (var v in variants) AddFigures(v, cold, freshSeconds);
        }
        finally
        {
            if (!settings.Keep) Directory.Delete(settings.WorkDirectory, recursive: true);
        }
        return figures;
    }

    private sealed class Variant(string suffix, string directory)
    {
        public string Suffix => suffix;
        public string Directory => directory;
        public Pairs Warm { get; } = new();
        public Pairs Cold { get; } = new();
        public long FileBytes => System.IO.Directory.GetFiles(directory).Sum(f => new FileInfo(f).Length);
    }

    /// <summary>cat and load, one after the other in each repeat.</summary>
    private sealed class Pairs
    {
        public List<double> Cat { get; } = [];
        public List<LoadReading> Loads { get; } = [];

        public void Measure(string directory, bool dropFirst)
        {
            if (dropFirst) PageCache.Drop();
            Cat.Add(CatToDevNull(directory));
            Loads.Add(LoadInChild(directory, dropFirst));
        }

        public string Describe() => string.Create(CultureInfo.InvariantCulture,
            $"cat {Cat[^1]:0.000} s, load {Loads[^1].Seconds:0.000} s ({Loads[^1].CpuSeconds:0.000} s CPU), peak +{Loads[^1].PeakExtraBytes / MB:0} MB, after +{Loads[^1].RetainedBytes / MB:0} MB");
    }

    private void AddFigures(Variant v, bool cold, double freshSeconds)
    {
        long fileBytes = v.FileBytes;
        var what = v.Suffix == "" ? "one model.safetensors" : $"{SyntheticModel.Shards} shards and an index";
        var model = $"{SyntheticModel.Config.Architecture}, {v.Warm.Loads[0].ModelBytes / 4 / 1e6:0}M parameters, bfloat16 in {what}, {fileBytes / MB:0} MB of files";
        foreach (var (temperature, pairs) in cold ? [("warm", v.Warm), ("cold", v.Cold)] : new[] { ("warm", v.Warm) })
        {
            var cache = temperature == "warm" ? "files in the page cache" : "page cache dropped before each (sync; echo 3 > /proc/sys/vm/drop_caches)";
            double load = Statistics.Median(pairs.Loads.Select(l => l.Seconds).ToArray()), cat = Statistics.Median(pairs.Cat);
            var suffix = $"_{temperature}{v.Suffix}";
            Add($"load_seconds{suffix}", load, "s", "reported", $"HuggingFaceCheckpoint.Load on the CPU in a fresh process (float32 compute), {cache}; {model}");
            Add($"load_cpu_seconds{suffix}", Statistics.Median(pairs.Loads.Select(l => l.CpuSeconds).ToArray()), "s", "reported",
                "processor time of the load, every thread of the process: steadier than wall time when other work shares the cores");
            Add($"cat_seconds{suffix}", cat, "s", "reported", $"cat of every file of the directory to /dev/null, {cache}");
            Add($"load_mb_per_second{suffix}", fileBytes / MB / load, "MB/s", "reported", "file bytes / load seconds");
            Add($"cat_mb_per_second{suffix}", fileBytes / MB / cat, "MB/s", "reported", "file bytes / cat seconds");
            // The disk's speed is what a cold cat reads at; warm, cat only copies from memory and the ratio is reported.
            Add($"load_vs_cat_speed{suffix}", cat / load, "ratio", temperature == "cold" ? ">= 0.5" : "reported",
                "load speed / cat speed (medians); a float32 load of bfloat16 files also writes twice their bytes into fresh memory, which cat does not");
            Add($"load_vs_cat_and_fresh_memory{suffix}", (cat + freshSeconds) / load, "ratio", "reported",
                "(cat seconds + fresh-memory seconds) / load seconds: 1 when the load costs no more than reading the files and writing the model's memory");
        }
        var loads = v.Warm.Loads.Concat(v.Cold.Loads).ToArray();
        long modelBytes = loads[0].ModelBytes;
        double peak = Statistics.Median(loads.Select(l => (double)l.PeakExtraBytes).ToArray());
        double retained = Statistics.Median(loads.Select(l => (double)l.RetainedBytes).ToArray());
        var memory = $"median over {loads.Length} loads; the process's peak resident size (VmHWM, reset before the load) less its resident size before it"
                     + (loads.All(l => l.PeakWasReset) ? "" : " (the peak could not be reset: it includes the process's start)");
        Add($"load_peak_extra_mb{v.Suffix}", peak / MB, "MB", "reported", memory);
        Add($"load_peak_memory_ratio{v.Suffix}", peak / modelBytes, "ratio", "<= 1.5", $"peak extra / the loaded parameters' bytes (float32: {modelBytes / MB:0} MB)");
        Add($"load_peak_vs_file_bytes{v.Suffix}", peak / fileBytes, "ratio", "reported", "peak extra / file bytes");
        Add($"load_retained_memory_ratio{v.Suffix}", retained / modelBytes, "ratio", "reported",
            "resident size after the load less before it / the parameters' bytes (the model, the tokenizer and what the allocator keeps)");
    }

    /// <summary>Seconds that <c>cat</c> of every file of <paramref name="directory"/> to /dev/null takes.</summary>
    private static double CatToDevNull(string directory)
    {
        var info = new ProcessStartInfo("sh") { UseShellExecute = false };
        foreach (var a in (string[])["-c", "exec cat \"$@\" > /dev/null", "sh", .. Directory.GetFiles(directory).Order(StringComparer.Ordinal)])
            info.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        process.WaitForExit();
        clock.Stop();
        if (process.ExitCode != 0) throw new InvalidOperationException($"cat of {directory} failed ({process.ExitCode}).");
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// One load in a fresh process (the hidden <c>load-once</c> command of this program), with Server GC as the
    /// teacher service runs; the page cache dropped after the process has started, when <paramref name="dropFirst"/>.
    /// </summary>
    private static LoadReading LoadInChild(string directory, bool dropFirst) => Child(["load-once", directory], dropFirst);

    private static LoadReading Child(string[] arguments, bool dropFirst)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[typeof(LoadBenchmark).Assembly.Location, .. arguments]) info.ArgumentList.Add(a);
        info.Environment["DOTNET_gcServer"] = "1";
        using var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            if (process.StandardOutput.ReadLine() != LoadOnce.Ready) throw new InvalidOperationException($"load-once did not start: {errors.Result}");
            if (dropFirst) PageCache.Drop();
            process.StandardInput.WriteLine(LoadOnce.Go);
            process.StandardInput.Flush();
            string? line;
            while ((line = process.StandardOutput.ReadLine()) is not null && !line.StartsWith(LoadOnce.ReadingPrefix, StringComparison.Ordinal)) { }
            process.WaitForExit();
            if (line is null || process.ExitCode != 0) throw new InvalidOperationException($"{string.Join(' ', arguments)} failed ({process.ExitCode}): {errors.Result}");
            return JsonSerializer.Deserialize<LoadReading>(line[LoadOnce.ReadingPrefix.Length..])!;
        }
        finally
        {
            if (!process.HasExited) process.Kill();
        }
    }

    private void Add(string name, double value, string unit, string goal, string detail)
    {
        figures.Add(new Figure(name, value, unit, goal, detail));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-36} {FigureReport.Format(value),12} {unit,-6} {goal}"));
    }
}

/// <summary>The kernel's page cache: dropped (as root) so that reads come from the disk.</summary>
public static class PageCache
{
    private const string Control = "/proc/sys/vm/drop_caches";

    /// <summary>Drops the cache once, if this process may; whether it could.</summary>
    public static bool TryDrop()
    {
        try
        {
            Drop();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Writes dirty pages back, then drops clean ones (pages mapped by running processes stay).</summary>
    public static void Drop()
    {
        using (var sync = Process.Start(new ProcessStartInfo("sync") { UseShellExecute = false })!) sync.WaitForExit();
        File.WriteAllText(Control, "3");
    }
}
