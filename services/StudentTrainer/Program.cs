using System.CommandLine;
using TeacherStudent.StudentTrainer.BlackBox;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.Images;
using TeacherStudent.StudentTrainer.Language;
using TeacherStudent.StudentTrainer.TeacherClient;

var root = new RootCommand("TeacherStudent student trainer: trains one student against a teacher service.");

var train = new Command("train", "Train one student (or a teacher, with --mode supervised --architecture convnet).");
var switches = new OptionSwitches().Add<TrainerOptions>(train, "Training").Add<TeacherClientOptions>(train, "Teacher", "teacher-");
train.SetAction((result, cancellation) => TrainerHost.TrainAsync(switches.Given(result), cancellation));
root.Subcommands.Add(train);

var trainLm = new Command("train-lm", "Train one language model on the fortunes corpus (or --corpus-file): a teacher (--mode supervised) or a student distilled from one.");
var lmSwitches = new OptionSwitches().Add<LanguageTrainerOptions>(trainLm, LanguageTrainerOptions.Section).Add<BlackBoxOptions>(trainLm, BlackBoxOptions.Section)
    .Add<TeacherClientOptions>(trainLm, "Teacher", "teacher-");
trainLm.SetAction((result, cancellation) => TrainerHost.TrainLanguageModelAsync(lmSwitches.Given(result), cancellation));
root.Subcommands.Add(trainLm);

var measure = new Command("measure-targets",
    "Measure a language-model teacher service: bytes per token and KL of dense, top-k and sampled targets, served vs in-process tokens/s.");
var measureSwitches = new OptionSwitches().Add<TargetMeasurementOptions>(measure, TargetMeasurementOptions.Section).Add<TeacherClientOptions>(measure, "Teacher", "teacher-");
measure.SetAction((result, cancellation) => TrainerHost.MeasureTargetsAsync(measureSwitches.Given(result), cancellation));
root.Subcommands.Add(measure);

var evaluate = new Command("evaluate-answers",
    "A served language model answers questions with known answers through Generate: accuracy and tokens per answer, directly or by a vote over samples.");
var evaluateSwitches = new OptionSwitches().Add<AnswerEvaluationOptions>(evaluate, AnswerEvaluationOptions.Section).Add<TeacherClientOptions>(evaluate, "Teacher", "teacher-");
evaluate.SetAction((result, cancellation) => TrainerHost.EvaluateAnswersAsync(evaluateSwitches.Given(result), cancellation));
root.Subcommands.Add(evaluate);

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
root.Subcommands.Add(summarize);

var summarizeLm = new Command("summarize-lm", "Gather a language-model demo (teacher, students, measure-targets) into one report and print tables.");
var lmTeacherRun = new Option<string>("--teacher-run") { Description = "run directory of the teacher", Required = true };
var lmRuns = new Option<string[]>("--runs") { Description = "run directories of the students", AllowMultipleArgumentsPerToken = true, Required = true };
var lmTargets = new Option<string?>("--targets") { Description = "the JSON written by measure-targets" };
var lmOutput = new Option<string>("--out") { Description = "where to write the report JSON", Required = true };
var lmSeconds = new Option<double?>("--seconds") { Description = "wall time to record for the whole job" };
summarizeLm.Options.Add(lmTeacherRun);
summarizeLm.Options.Add(lmRuns);
summarizeLm.Options.Add(lmTargets);
summarizeLm.Options.Add(lmOutput);
summarizeLm.Options.Add(lmSeconds);
summarizeLm.SetAction(result => LanguageSummary.Write(result.GetValue(lmTeacherRun)!, result.GetValue(lmRuns)!, result.GetValue(lmTargets),
    result.GetValue(lmOutput)!, result.GetValue(lmSeconds)));
root.Subcommands.Add(summarizeLm);

var summarizeSystem2 = new Command("summarize-system2",
    "Gather the System 2 -> System 1 demo's evaluations ({task}.{role}.json) into one report and print a table.");
var s2Evaluations = new Option<string>("--evaluations") { Description = "directory of the evaluate-answers JSON files", Required = true };
var s2Tasks = new Option<string[]>("--tasks") { Description = "the tasks, in report order", AllowMultipleArgumentsPerToken = true, Required = true };
var s2Output = new Option<string>("--out") { Description = "where to write the report JSON", Required = true };
var s2Seconds = new Option<double?>("--seconds") { Description = "wall time to record for the whole job" };
summarizeSystem2.Options.Add(s2Evaluations);
summarizeSystem2.Options.Add(s2Tasks);
summarizeSystem2.Options.Add(s2Output);
summarizeSystem2.Options.Add(s2Seconds);
summarizeSystem2.SetAction(result => System2Summary.Write(result.GetValue(s2Evaluations)!, result.GetValue(s2Tasks)!, result.GetValue(s2Output)!,
    result.GetValue(s2Seconds)));
root.Subcommands.Add(summarizeSystem2);

var system2Data = new Command("system2-data",
    "Write the data of a System 2 -> System 1 run: the teacher corpus (train-lm --corpus-file), and per task the training questions to label and the held-out problems.");
var dataOutput = new Option<string>("--out") { Description = "directory to write teacher-corpus.txt and TASK/train-prompts.jsonl, TASK/test.jsonl into", Required = true };
var dataSeed = new Option<int>("--seed") { Description = "seed of every problem drawn", DefaultValueFactory = _ => 1 };
var dataCorpus = new Option<int>("--corpus-problems") { Description = "problems of each task in the teacher corpus", DefaultValueFactory = _ => System2Data.DefaultCorpusProblems };
var dataDirect = new Option<double>("--direct-fraction") { Description = "share of the corpus problems written as direct answers; the rest are step by step", DefaultValueFactory = _ => System2Data.DefaultDirectFraction };
var dataTrain = new Option<int>("--train-questions") { Description = "training questions of each task for the teacher to label", DefaultValueFactory = _ => System2Data.DefaultTrainQuestions };
var dataTest = new Option<int>("--test-problems") { Description = "held-out problems of each task", DefaultValueFactory = _ => System2Data.DefaultTestProblems };
foreach (var option in new Option[] { dataOutput, dataSeed, dataCorpus, dataDirect, dataTrain, dataTest }) system2Data.Options.Add(option);
system2Data.SetAction(result => System2Data.Write(result.GetValue(dataOutput)!, result.GetValue(dataSeed),
    new(result.GetValue(dataCorpus), result.GetValue(dataDirect), result.GetValue(dataTrain), result.GetValue(dataTest))));
root.Subcommands.Add(system2Data);

return await root.Parse(args).InvokeAsync();
