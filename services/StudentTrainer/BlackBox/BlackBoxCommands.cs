using System.CommandLine;
using TeacherStudent.Distillation.Reasoning;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.BlackBox;

/// <summary>
/// The commands of black-box teachers and the System 2 -> System 1 recipe: <c>evaluate-answers</c> of a
/// served model, <c>summarize-system2</c> a finished demo, <c>system2-data</c> to start one.
/// </summary>
public static class BlackBoxCommands
{
    /// <summary>
    /// <c>evaluate-answers</c>: a served model answers questions with known answers, with a switch per
    /// property of <see cref="AnswerEvaluationOptions"/> and <see cref="TeacherClientOptions"/>.
    /// </summary>
    public static Command EvaluateAnswers()
    {
        var evaluate = new Command("evaluate-answers",
            "A served language model answers questions with known answers through Generate: accuracy and tokens per answer, directly or by a vote over samples.");
        var switches = new OptionSwitches().Add<AnswerEvaluationOptions>(evaluate, AnswerEvaluationOptions.Section).Add<TeacherClientOptions>(evaluate, "Teacher", "teacher-");
        evaluate.SetAction((result, cancellation) =>
            TrainerHost.RunAsync<AnswerEvaluationOptions, AnswerEvaluationJob>(switches.Given(result), AnswerEvaluationOptions.Section, (job, cancel) => job.RunAsync(cancel),
                cancellation));
        return evaluate;
    }

    /// <summary><c>summarize-system2</c>: the demo's evaluations gathered into one report (<see cref="System2Summary"/>).</summary>
    public static Command SummarizeSystem2()
    {
        var summarizeSystem2 = new Command("summarize-system2",
            "Gather the System 2 -> System 1 demo's evaluations ({task}.{role}.json) into one report and print a table.");
        var evaluations = new Option<string>("--evaluations") { Description = "directory of the evaluate-answers JSON files", Required = true };
        var tasks = new Option<string[]>("--tasks")
        {
            Description = $"the tasks, in report order; system2-data writes: {string.Join(", ", ReasoningTasks.Names)}", AllowMultipleArgumentsPerToken = true, Required = true,
        };
        var output = new Option<string>("--out") { Description = "where to write the report JSON", Required = true };
        var seconds = new Option<double?>("--seconds") { Description = "wall time to record for the whole job" };
        summarizeSystem2.Options.Add(evaluations);
        summarizeSystem2.Options.Add(tasks);
        summarizeSystem2.Options.Add(output);
        summarizeSystem2.Options.Add(seconds);
        summarizeSystem2.SetAction(result => System2Summary.Write(result.GetValue(evaluations)!, result.GetValue(tasks)!, result.GetValue(output)!,
            result.GetValue(seconds)));
        return summarizeSystem2;
    }

    /// <summary><c>system2-data</c>: the teacher corpus and each task's questions and held-out problems (<see cref="System2Data"/>).</summary>
    public static Command WriteSystem2Data()
    {
        var system2Data = new Command("system2-data",
            "Write the data of a System 2 -> System 1 run: the teacher corpus (train-lm --corpus-file), and per task the training questions to label and the held-out problems.");
        var output = new Option<string>("--out") { Description = "directory to write teacher-corpus.txt and TASK/train-prompts.jsonl, TASK/test.jsonl into", Required = true };
        var seed = new Option<int>("--seed") { Description = "seed of every problem drawn", DefaultValueFactory = _ => 1 };
        var corpus = new Option<int>("--corpus-problems") { Description = "problems of each task in the teacher corpus", DefaultValueFactory = _ => System2Data.DefaultCorpusProblems };
        var direct = new Option<double>("--direct-fraction")
        {
            Description = "share of the corpus problems written as direct answers; the rest are step by step", DefaultValueFactory = _ => System2Data.DefaultDirectFraction,
        };
        var train = new Option<int>("--train-questions")
        {
            Description = "training questions of each task for the teacher to label", DefaultValueFactory = _ => System2Data.DefaultTrainQuestions,
        };
        var test = new Option<int>("--test-problems") { Description = "held-out problems of each task", DefaultValueFactory = _ => System2Data.DefaultTestProblems };
        foreach (var option in new Option[] { output, seed, corpus, direct, train, test }) system2Data.Options.Add(option);
        system2Data.SetAction(result => System2Data.Write(result.GetValue(output)!, result.GetValue(seed),
            new(result.GetValue(corpus), result.GetValue(direct), result.GetValue(train), result.GetValue(test))));
        return system2Data;
    }
}
