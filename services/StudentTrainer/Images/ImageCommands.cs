using System.CommandLine;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.Images;

/// <summary>The commands of image classifiers: <c>train</c> one student (or teacher), <c>summarize</c> finished runs.</summary>
public static class ImageCommands
{
    /// <summary>
    /// <c>train</c>: one image student (or teacher), with a switch per property of
    /// <see cref="TrainerOptions"/> and <see cref="TeacherClientOptions"/>.
    /// </summary>
    public static Command Train()
    {
        var train = new Command("train", "Train one student (or a teacher, with --mode supervised --architecture convnet).");
        var switches = TrainSwitches(train);
        train.SetAction((result, cancellation) =>
            TrainerHost.RunAsync<TrainerOptions, TrainJob>(switches.Given(result), "Training", (job, cancel) => job.RunAsync(cancel), cancellation));
        return train;
    }

    /// <summary>Adds the switches of <c>train</c> to <paramref name="train"/>; what a test parses train's arguments with.</summary>
    public static OptionSwitches TrainSwitches(Command train) =>
        new OptionSwitches().Add<TrainerOptions>(train, "Training").Add<TeacherClientOptions>(train, "Teacher", "teacher-");

    /// <summary><c>summarize-ensemble</c>: an ensemble demo's runs gathered into one report (<see cref="EnsembleSummary"/>).</summary>
    public static Command SummarizeEnsemble()
    {
        var command = new Command("summarize-ensemble",
            "Gather an ensemble demo's runs (students of an ensemble and of the best single teacher, image or language-model) into one report and print a table.");
        var teacherRuns = new Option<string[]>("--teacher-runs") { Description = "run directories of the ensemble's teachers", AllowMultipleArgumentsPerToken = true, Required = true };
        var teacherNames = new Option<string[]>("--teacher-names") { Description = "the names the teachers are served by, in the same order (default: their reports' names)", AllowMultipleArgumentsPerToken = true };
        var ensemble = new Option<string>("--ensemble") { Description = "the name the students asked the ensemble by", DefaultValueFactory = _ => "ensemble" };
        var bestSingle = new Option<string>("--best-single") { Description = "the name of the best single teacher", Required = true };
        var runs = new Option<string[]>("--runs") { Description = "run directories of the students", AllowMultipleArgumentsPerToken = true, Required = true };
        var metric = new Option<string>("--metric") { Description = $"what runs are compared by: {string.Join(" or ", EnsembleSummary.Metrics.Keys)}", DefaultValueFactory = _ => "accuracy" };
        var output = new Option<string>("--out") { Description = "where to write the report JSON", Required = true };
        var seconds = new Option<double?>("--seconds") { Description = "wall time to record for the whole job" };
        foreach (var option in new Option[] { teacherRuns, teacherNames, ensemble, bestSingle, runs, metric, output, seconds }) command.Options.Add(option);
        command.SetAction(result => EnsembleSummary.Write(result.GetValue(teacherRuns)!, result.GetValue(teacherNames) ?? [], result.GetValue(ensemble)!,
            result.GetValue(bestSingle)!, result.GetValue(runs)!, result.GetValue(output)!, result.GetValue(seconds), result.GetValue(metric)!));
        return command;
    }

    /// <summary><c>summarize-patient</c>: a function-matching demo's runs gathered into one report (<see cref="FunctionMatchingSummary"/>).</summary>
    public static Command SummarizeFunctionMatching()
    {
        var command = new Command("summarize-patient",
            "Gather a function-matching demo's runs (supervised, offline and function-matching students of one teacher) into one report and print a table.");
        var teacherRun = new Option<string>("--teacher-run") { Description = "run directory of the teacher", Required = true };
        var baseline = new Option<string[]>("--supervised-runs") { Description = "run directories of the supervised students (the baseline)", AllowMultipleArgumentsPerToken = true, Required = true };
        var offline = new Option<string[]>("--offline-runs") { Description = "run directories of the offline students", AllowMultipleArgumentsPerToken = true };
        var runs = new Option<string[]>("--runs") { Description = "run directories of the function-matching students", AllowMultipleArgumentsPerToken = true, Required = true };
        var output = new Option<string>("--out") { Description = "where to write the report JSON", Required = true };
        var seconds = new Option<double?>("--seconds") { Description = "wall time to record for the whole job" };
        foreach (var option in new Option[] { teacherRun, baseline, offline, runs, output, seconds }) command.Options.Add(option);
        command.SetAction(result => FunctionMatchingSummary.Write(result.GetValue(teacherRun)!, result.GetValue(baseline)!, result.GetValue(offline) ?? [],
            result.GetValue(runs)!, result.GetValue(output)!, result.GetValue(seconds)));
        return command;
    }

    /// <summary><c>summarize</c>: finished runs gathered into one report (<see cref="Summary"/>).</summary>
    public static Command Summarize()
    {
        var summarize = new Command("summarize", "Gather finished runs into one report and print a table.");
        var teacherRun = new Option<string?>("--teacher-run") { Description = "run directory of the teacher" };
        var runs = new Option<string[]>("--runs") { Description = "run directories of the students", AllowMultipleArgumentsPerToken = true, Required = true };
        var output = new Option<string>("--out") { Description = "where to write the report JSON", Required = true };
        var seconds = new Option<double?>("--seconds") { Description = "wall time to record for the whole job" };
        summarize.Options.Add(teacherRun);
        summarize.Options.Add(runs);
        summarize.Options.Add(output);
        summarize.Options.Add(seconds);
        summarize.SetAction(result => Summary.Write(result.GetValue(teacherRun), result.GetValue(runs)!, result.GetValue(output)!, result.GetValue(seconds)));
        return summarize;
    }
}
