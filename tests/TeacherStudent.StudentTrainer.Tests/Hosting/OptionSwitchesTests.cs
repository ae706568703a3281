using System.CommandLine;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.Images;
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
        Assert.Equal(typeof(TrainerOptions).GetProperties().Length + typeof(TeacherClientOptions).GetProperties().Length, names.Count);
        Assert.All(command.Options, o => Assert.False(string.IsNullOrWhiteSpace(o.Description), $"{o.Name} has no description"));
    }

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
}
