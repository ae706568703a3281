using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using TeacherStudent.StudentTrainer.BlackBox;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.Language;

/// <summary>
/// The commands of language models: <c>train-lm</c> one model, <c>measure-targets</c> of a served
/// teacher, <c>summarize-lm</c> a finished demo.
/// </summary>
public static class LanguageCommands
{
    /// <summary>
    /// <c>train-lm</c>: one language model, with a switch per property of <see cref="LanguageTrainerOptions"/>,
    /// <see cref="BlackBoxOptions"/> (for <c>--mode blackbox</c>) and <see cref="TeacherClientOptions"/>.
    /// </summary>
    public static Command TrainLanguageModel()
    {
        var trainLm = new Command("train-lm",
            "Train one language model on the fortunes corpus (or --corpus-file): a teacher (--mode supervised) or a student distilled from one.");
        var switches = new OptionSwitches().Add<LanguageTrainerOptions>(trainLm, LanguageTrainerOptions.Section).Add<BlackBoxOptions>(trainLm, BlackBoxOptions.Section)
            .Add<TeacherClientOptions>(trainLm, "Teacher", "teacher-");
        trainLm.SetAction((result, cancellation) =>
            TrainerHost.RunAsync<LanguageTrainerOptions, LanguageTrainJob>(switches.Given(result), LanguageTrainerOptions.Section, (job, cancel) => job.RunAsync(cancel),
                cancellation, services => services.AddOptions<BlackBoxOptions>().BindConfiguration(BlackBoxOptions.Section).ValidateDataAnnotations().ValidateOnStart()));
        return trainLm;
    }

    /// <summary><c>measure-targets</c>: what each way of shipping a language model's targets costs and keeps.</summary>
    public static Command MeasureTargets()
    {
        var measure = new Command("measure-targets",
            "Measure a language-model teacher service: bytes per token and KL of dense, top-k and sampled targets, served vs in-process tokens/s.");
        var switches = new OptionSwitches().Add<TargetMeasurementOptions>(measure, TargetMeasurementOptions.Section).Add<TeacherClientOptions>(measure, "Teacher", "teacher-");
        measure.SetAction((result, cancellation) =>
            TrainerHost.RunAsync<TargetMeasurementOptions, TargetMeasurementJob>(switches.Given(result), TargetMeasurementOptions.Section, (job, cancel) => job.RunAsync(cancel),
                cancellation));
        return measure;
    }

    /// <summary><c>summarize-lm</c>: a language-model demo (teacher, students, measure-targets) gathered into one report (<see cref="LanguageSummary"/>).</summary>
    public static Command Summarize()
    {
        var summarizeLm = new Command("summarize-lm", "Gather a language-model demo (teacher, students, measure-targets) into one report and print tables.");
        var teacherRun = new Option<string>("--teacher-run") { Description = "run directory of the teacher", Required = true };
        var runs = new Option<string[]>("--runs") { Description = "run directories of the students", AllowMultipleArgumentsPerToken = true, Required = true };
        var targets = new Option<string?>("--targets") { Description = "the JSON written by measure-targets" };
        var output = new Option<string>("--out") { Description = "where to write the report JSON", Required = true };
        var seconds = new Option<double?>("--seconds") { Description = "wall time to record for the whole job" };
        summarizeLm.Options.Add(teacherRun);
        summarizeLm.Options.Add(runs);
        summarizeLm.Options.Add(targets);
        summarizeLm.Options.Add(output);
        summarizeLm.Options.Add(seconds);
        summarizeLm.SetAction(result => LanguageSummary.Write(result.GetValue(teacherRun)!, result.GetValue(runs)!, result.GetValue(targets),
            result.GetValue(output)!, result.GetValue(seconds)));
        return summarizeLm;
    }
}
