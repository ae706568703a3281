using System.CommandLine;
using TeacherStudent.Benchmarks;

var convnet = new Option<string>("--convnet") { Description = "ConvNet teacher checkpoint", Required = true };
var mlp = new Option<string>("--mlp") { Description = "MLP teacher checkpoint", Required = true };
var teacherDll = new Option<string>("--teacher-dll") { Description = "the built teacher service", Required = true };
var data = new Option<string>("--data-directory") { Description = "Fashion-MNIST IDX files", DefaultValueFactory = _ => TeacherStudent.Distillation.Data.FashionMnist.DefaultDirectory };
var repeats = new Option<int>("--repeats") { Description = "repeats per figure (the median is reported)", DefaultValueFactory = _ => 3 };
var quick = new Option<bool>("--quick") { Description = "fewer batches per pass (a smoke run, not for the record)" };
var only = new Option<string[]>("--only")
{
    Description = $"run only these parts ({string.Join(", ", BenchSettings.Parts)}); the files then hold only their figures",
    AllowMultipleArgumentsPerToken = true,
};
only.AcceptOnlyFromAmong([.. BenchSettings.Parts]);
var lmSynthetic = new Option<string?>("--lm-synthetic")
{
    Description = "directory of the synthetic Llama-family teacher for the language-model parts (written there, with --lm-tokenizer's tokenizer, when missing)",
};
var lmTokenizer = new Option<string?>("--lm-tokenizer") { Description = "a directory with the tokenizer.json the synthetic teacher is written with" };
var lmDemo = new Option<string?>("--lm-demo") { Description = "a Hugging Face directory of the demo's language-model teacher (./demo.sh lm's, or one of its shape)" };
var json = new Option<string>("--json") { Description = "where the figures go as JSON", DefaultValueFactory = _ => "artifacts/bench/serving.json" };
var markdown = new Option<string>("--markdown") { Description = "where the table goes", DefaultValueFactory = _ => "docs/benchmarks.md" };

var root = new RootCommand("Measures the teacher service against the in-process forward and a bare Redis multi-get (the default), or the loading of a Hugging Face model directory (load).")
{
    convnet, mlp, teacherDll, data, repeats, quick, only, lmSynthetic, lmTokenizer, lmDemo, json, markdown,
};
root.Subcommands.Add(LoadCommands.Load());
root.Subcommands.Add(LoadCommands.LoadOnce());
root.Subcommands.Add(ForwardMemoryCommand.Create());
root.SetAction(async (result, cancellationToken) =>
{
    var settings = new BenchSettings(result.GetValue(convnet)!, result.GetValue(mlp)!, result.GetValue(data)!,
        result.GetValue(teacherDll)!, result.GetValue(repeats), result.GetValue(quick),
        (result.GetValue(only) ?? []).ToHashSet());
    var started = DateTime.UtcNow;
    var figures = new List<Figure>(await new ServingBenchmark(settings).RunAsync(cancellationToken));
    if (settings.RunsLanguageModels)
    {
        var teachers = LanguageTeachers.From(result.GetValue(lmSynthetic), result.GetValue(lmTokenizer), result.GetValue(lmDemo));
        figures.AddRange(await new LanguageModelBenchmark(settings, teachers).RunAsync(cancellationToken));
    }
    var preamble = $"""
        ## Serving

        Measured by `./bench.sh` on {started:yyyy-MM-dd} ({Environment.ProcessorCount} cores, CPU only, {(settings.Quick ? "quick run" : $"{settings.Repeats} repeats")}),
        every figure a median over repeats that alternate the served side and its reference in
        one run, except where its description says otherwise (the synthetic teacher's loads and prompt
        sharing run once: each pass takes tens of seconds). Raw figures: `artifacts/bench/serving.json`. This section is rewritten by every run;
        what the figures mean, and the investigations behind the service's settings, are in
        [serving-performance.md](serving-performance.md).

        """;
    FigureReport.Write(figures, result.GetValue(json)!, result.GetValue(markdown)!, "serving", preamble);
    var missed = figures.Where(f => !f.Met).Select(f => f.Name).ToArray();
    Console.WriteLine(missed.Length == 0 ? "every goal met" : $"goals not met: {string.Join(", ", missed)}");
    return 0;
});
return await root.Parse(args).InvokeAsync();
