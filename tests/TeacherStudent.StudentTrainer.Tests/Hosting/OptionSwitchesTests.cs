using System.CommandLine;
using System.Reflection;
using System.Text.RegularExpressions;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.StudentTrainer.BlackBox;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.Images;
using TeacherStudent.StudentTrainer.Language;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.Tests.Hosting;

public sealed class OptionSwitchesTests
{
    private static (Command Command, OptionSwitches Switches) TrainCommand()
    {
        var command = new Command("train");
        return (command, ImageCommands.TrainSwitches(command));
    }

    [Fact]
    public void EveryOptionPropertyBecomesAKebabCaseSwitchWithItsDescription()
    {
        var (command, _) = TrainCommand();

        var names = command.Options.Select(o => o.Name).ToHashSet();

        Assert.Contains("--learning-rate", names);
        Assert.Contains("--run-directory", names);
        Assert.Contains("--teacher-address", names);
        Assert.Contains("--teacher", names); // TeacherClientOptions.Teacher, not --teacher-teacher
        Assert.Equal(SettableProperties<TrainerOptions>() + SettableProperties<TeacherClientOptions>(), names.Count);
        Assert.All(command.Options, o => Assert.False(string.IsNullOrWhiteSpace(o.Description), $"{o.Name} has no description"));
    }

    /// <summary>Properties a switch sets; the static lists of names an option takes are none.</summary>
    private static int SettableProperties<T>() => typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).Length;

    [Fact]
    public void OnlyTheSwitchesGivenBecomeConfigurationKeys()
    {
        var (command, switches) = TrainCommand();

        var given = switches.Given(command.Parse(["--epochs", "3", "--teacher-address", "http://127.0.0.1:1234", "--teacher", "big"]));

        Assert.Equal(3, given.Count);
        Assert.Equal("3", given["Training:Epochs"]);
        Assert.Equal("http://127.0.0.1:1234", given["Teacher:Address"]);
        Assert.Equal("big", given["Teacher:Teacher"]);
    }

    [Fact]
    public void ARepeatedTeacherSwitchIsOneValueOfItsTeachersSeparatedBySpaces()
    {
        var (command, switches) = TrainCommand();

        var result = command.Parse(["--teacher", "a@http://127.0.0.1:5005", "--teacher", "b@http://127.0.0.1:5006:3", "--teacher-combination", "product"]);
        var given = switches.Given(result);

        Assert.Empty(result.Errors);
        Assert.Equal("a@http://127.0.0.1:5005 b@http://127.0.0.1:5006:3", given["Teacher:Teacher"]);
        Assert.Equal("product", given["Teacher:Combination"]);
        Assert.NotEmpty(command.Parse(["--epochs", "3", "--epochs", "4"]).Errors); // other switches are given once
    }

    /// <summary>What <c>trainer COMMAND --help</c> prints.</summary>
    private static string Help(string command)
    {
        var root = new RootCommand { ImageCommands.Train(), LanguageCommands.TrainLanguageModel(), BlackBoxCommands.EvaluateAnswers() };
        using var output = new StringWriter();
        root.Parse([command, "--help"]).Invoke(new InvocationConfiguration { Output = output });
        return output.ToString();
    }

    /// <summary>The help of one switch: its line, and the lines it wraps onto on a narrow terminal.</summary>
    private static string HelpOf(string command, string option)
    {
        var lines = Help(command).Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        int first = lines.FindIndex(l => l.StartsWith($"  {option} ", StringComparison.Ordinal));
        Assert.True(first >= 0, $"{command} --help has no {option}");
        var wrapped = lines.Skip(first + 1).TakeWhile(l => l.Length > 0 && !l.StartsWith("  -", StringComparison.Ordinal));
        return string.Join(" ", wrapped.Prepend(lines[first]).Select(l => l.Trim()));
    }

    private static List<string> Words(string text) => Regex.Matches(text, @"[\w.\[\]:]+").Select(m => m.Value.TrimEnd('.')).ToList();

    [Theory]
    [InlineData("train")]
    [InlineData("train-lm")]
    public void TheHelpOfLossListsEveryLossThereIs(string command)
    {
        var help = HelpOf(command, "--loss");

        var words = Words(help);

        Assert.NotEmpty(DistillationLosses.Names);
        Assert.All(DistillationLosses.Names, loss => Assert.Contains(loss, words));
    }

    [Theory]
    [InlineData("train", "--mode", "supervised offline online pseudo self")]
    [InlineData("train", "--architecture", "mlp convnet")]
    [InlineData("train", "--loss", "forward_kl reverse_kl jsd skew_kl skew_reverse_kl")]
    [InlineData("train", "--teacher-targets-dtype", "float32 float16")]
    [InlineData("train-lm", "--mode", "supervised offline online on_policy blackbox")]
    [InlineData("train-lm", "--targets", "top_k sampled")]
    [InlineData("evaluate-answers", "--teacher-targets-dtype", "float32 float16")]
    public void ASwitchThatTakesOneOfAFewNamesListsThemAllInItsHelp(string command, string option, string names)
    {
        var help = HelpOf(command, option);

        var listed = help[(help.IndexOf("one of: ", StringComparison.Ordinal) + "one of: ".Length)..];

        Assert.Contains($"{option} <name>", help);
        Assert.Equal(names.Split(' ').Order(), listed.Split(", ").Order());
    }

    [Theory]
    [InlineData("train", "--epochs", "1 to 10000")]
    [InlineData("train", "--labels", "0 or more")]
    [InlineData("train-lm", "--alpha", "0 to 1")]
    [InlineData("evaluate-answers", "--samples", "1 to 1024")]
    public void ASwitchWithBoundsNamesThemInItsHelp(string command, string option, string bounds)
    {
        var help = HelpOf(command, option);

        Assert.EndsWith($"; {bounds}", help);
    }

    [Fact]
    public void ASeedOfEitherIntegerTypeIsShownAsAnInt()
    {
        // AnswerEvaluationOptions.Seed is a long, TrainerOptions.Seed an int.
        Assert.StartsWith("--seed <int>", HelpOf("evaluate-answers", "--seed"));
        Assert.StartsWith("--seed <int>", HelpOf("train", "--seed"));
    }
}
