using System.CommandLine;
using TeacherStudent.StudentTrainer.BlackBox;
using TeacherStudent.StudentTrainer.Images;
using TeacherStudent.StudentTrainer.Language;

// Listed in the order of the help: what trains or measures first, then what summarises.
var root = new RootCommand("TeacherStudent student trainer: trains one student against a teacher service.")
{
    ImageCommands.Train(), LanguageCommands.TrainLanguageModel(), LanguageCommands.MeasureTargets(), BlackBoxCommands.EvaluateAnswers(),
    TokenizeCommand.Create(),
    ImageCommands.Summarize(), ImageCommands.SummarizeEnsemble(), ImageCommands.SummarizeFunctionMatching(), LanguageCommands.Summarize(), BlackBoxCommands.SummarizeSystem2(), BlackBoxCommands.WriteSystem2Data(),
};
return await root.Parse(args).InvokeAsync();
