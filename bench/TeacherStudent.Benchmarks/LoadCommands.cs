using System.CommandLine;

namespace TeacherStudent.Benchmarks;

/// <summary>The <c>load</c> command (issue 14's loading figures) and the hidden <c>load-once</c> it runs each load in.</summary>
public static class LoadCommands
{
    public static Command Load()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "a directory with the tokenizer.json (and tokenizer_config.json) to save the model with", Required = true };
        var work = new Option<string>("--work-directory") { Description = "where the synthetic model is written", DefaultValueFactory = _ => "artifacts/bench/load-model" };
        var repeats = new Option<int>("--repeats") { Description = "repeats per figure (the median is reported)", DefaultValueFactory = _ => 5 };
        var keep = new Option<bool>("--keep") { Description = "keep the synthetic model (~600 MB) instead of deleting it" };
        var json = new Option<string>("--json") { Description = "where the figures go as JSON", DefaultValueFactory = _ => "artifacts/bench/load.json" };
        var markdown = new Option<string>("--markdown") { Description = "the file whose load section gets the table", DefaultValueFactory = _ => "docs/benchmarks.md" };
        var command = new Command("load", "Measures loading a Hugging Face model directory of a few hundred MB beside cat of its files: speed and peak memory.")
        {
            tokenizer, work, repeats, keep, json, markdown,
        };
        command.SetAction(result =>
        {
            var settings = new LoadSettings(result.GetValue(work)!, result.GetValue(tokenizer)!, result.GetValue(repeats), result.GetValue(keep));
            var started = DateTime.UtcNow;
            var loadBefore = LoadAverage();
            var figures = new LoadBenchmark(settings).Run();
            var loadAfter = LoadAverage();
            var cold = figures.Any(f => f.Name.Contains("_cold", StringComparison.Ordinal));
            var preamble = $"""
                ## Loading a Hugging Face model

                Measured by `./bench.sh load` on {started:yyyy-MM-dd} ({Environment.ProcessorCount} cores, {settings.Repeats} repeats; page cache {(cold ? "warm and cold" : "warm only: it could not be dropped")};
                the machine's load average {loadBefore} at the start and {loadAfter} at the end: other work shared the cores when it is above {Environment.ProcessorCount}).
                A random `{SyntheticModel.Config.Architecture}` (Qwen3's vocabulary and tokenizer, {SyntheticModel.Config.Layers} layers of width {SyntheticModel.Config.Width}, tied embedding)
                is saved in bfloat16 by `HuggingFaceCheckpoint.Save`, and split into {SyntheticModel.Shards} shards with an index. Each repeat `cat`s the
                directory's files to /dev/null and then loads it with `HuggingFaceCheckpoint.Load` on the CPU (float32
                compute) in a fresh process (Server GC, jemalloc as `bench.sh` runs the service), which reports the load's
                time and its peak resident memory above what it held before. Two more processes in each repeat only fill as
                many bytes of fresh memory as the loaded model holds, in 2 MB pages as the loader asks for them (the part of
                any load that is the kernel handing out and zeroing the model's pages, which no reading of files can avoid),
                and only read the tokenizer (which the load does beside the weights). Every figure is a median over repeats;
                MB is 10^6 bytes. Raw figures: `artifacts/bench/load.json`. This section is rewritten by every `./bench.sh load`.

                """;
            FigureReport.Write(figures, result.GetValue(json)!, result.GetValue(markdown)!, "load", preamble);
            var missed = figures.Where(f => !f.Met).Select(f => f.Name).ToArray();
            Console.WriteLine(missed.Length == 0 ? "every goal met" : $"goals not met: {string.Join(", ", missed)}");
            return 0;
        });
        return command;
    }

    // The 1-minute load average, as /proc/loadavg gives it.
    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    public static Command LoadOnce()
    {
        var directory = new Argument<string>("directory") { Description = "the model directory" };
        var fresh = new Option<long?>("--fresh-memory") { Description = "instead of loading, fill this many bytes of freshly allocated memory" };
        var tokenizerOnly = new Option<bool>("--tokenizer-only") { Description = "instead of loading the model, read only its tokenizer" };
        var command = new Command("load-once", "Loads one model directory when told to on stdin and prints what it measured (run by load).") { directory, fresh, tokenizerOnly };
        command.Hidden = true;
        command.SetAction(result => result.GetValue(fresh) is { } bytes ? Benchmarks.LoadOnce.FreshMemory(bytes)
            : result.GetValue(tokenizerOnly) ? Benchmarks.LoadOnce.Tokenizer(result.GetValue(directory)!)
            : Benchmarks.LoadOnce.Run(result.GetValue(directory)!));
        return command;
    }
}
