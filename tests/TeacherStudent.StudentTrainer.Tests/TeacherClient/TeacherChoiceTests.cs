using System.ComponentModel.DataAnnotations;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.Tests.TeacherClient;

/// <summary>How <c>--teacher</c> names one teacher or an ensemble: NAME, or NAME@ADDRESS[:WEIGHT] once per member.</summary>
public sealed class TeacherChoiceTests
{
    [Theory]
    [InlineData("fashion", "fashion", null, 1.0)]
    [InlineData("big@http://10.0.0.5:5005", "big", "http://10.0.0.5:5005", 1.0)]
    [InlineData("big@http://10.0.0.5:5005:2", "big", "http://10.0.0.5:5005", 2.0)]
    [InlineData("big@http://10.0.0.5:5005:0.25", "big", "http://10.0.0.5:5005", 0.25)]
    [InlineData("big@https://teacher.example:443:1e-1", "big", "https://teacher.example:443", 0.1)]
    [InlineData("big@http://a:5005,http://b:5006", "big", "http://a:5005,http://b:5006", 1.0)]
    [InlineData("big@http://a:5005,http://b:5006:3", "big", "http://a:5005,http://b:5006", 3.0)]
    [InlineData("big@dns:///teacher.ns.svc:5005:1.5", "big", "dns:///teacher.ns.svc:5005", 1.5)]
    [InlineData("big@http://[::1]:5005:2", "big", "http://[::1]:5005", 2.0)]
    [InlineData("big@http://[::1]:5005", "big", "http://[::1]:5005", 1.0)]
    public void ATeacherIsANameOrANameAtAnAddressWithAnOptionalWeight(string text, string name, string? address, double weight)
    {
        var choice = TeacherChoice.Parse(text);

        Assert.Equal(new TeacherChoice(name, address, weight), choice);
    }

    [Fact]
    public void AnEnsembleIsItsMembersSeparatedBySpacesInOrder()
    {
        var choices = TeacherChoice.ParseAll("convnet@http://127.0.0.1:5005  mlp@http://127.0.0.1:5006:3 ");

        Assert.Equal([new("convnet", "http://127.0.0.1:5005", 1), new TeacherChoice("mlp", "http://127.0.0.1:5006", 3)], choices);
    }

    [Theory]
    [InlineData("a@http://h:5005:0", "weight '0'")]
    [InlineData("a@http://h:5005:-2", "weight '-2'")]
    [InlineData("a@http://h:5005:heavy", "weight 'heavy'")]
    [InlineData("a@http://h:5005:Infinity", "weight 'Infinity'")]
    [InlineData("@http://h:5005", "no name")]
    [InlineData("a@h:5005", "teacher 'a': Teacher:Address 'h:5005' is not usable")]
    [InlineData("a@http://h:5005 b", "'b' has no address")]
    [InlineData("a@http://h:5005 a@http://h:5005:2", "names teacher 'a' at http://h:5005 twice")]
    [InlineData("   ", "is empty")]
    public void AMistakeIsOneSentenceNamingTheTeacher(string text, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => TeacherChoice.ParseAll(text));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void TheSameNameAtTwoServicesIsAnEnsembleOfTwo()
    {
        var choices = TeacherChoice.ParseAll("fashion@http://a:5005 fashion@http://b:5005");

        Assert.Equal(["http://a:5005", "http://b:5005"], choices.Select(c => c.Address));
    }

    [Fact]
    public void OneTeacherAtAnAddressBecomesTheNameAndTheAddressOfTheOptions()
    {
        var options = new TeacherClientOptions { Teacher = "big@http://10.0.0.5:6000", Address = "http://127.0.0.1:5005" };

        options.SplitSingleAddress();

        Assert.Equal(("big", "http://10.0.0.5:6000"), (options.Teacher, options.Address));
        Assert.False(options.IsEnsemble());
    }

    [Fact]
    public void AnEnsembleStaysAsWrittenAndEachMemberGetsItsOwnNameAndAddress()
    {
        var options = new TeacherClientOptions { Teacher = "a@http://h:1 b@http://h:2:3", ApiKey = "k", TimeoutSeconds = 7 };

        options.SplitSingleAddress();
        var members = options.Choices().Select(options.For).ToArray();

        Assert.True(options.IsEnsemble());
        Assert.Equal("a@http://h:1 b@http://h:2:3", options.Teacher);
        Assert.Equal([("a", "http://h:1", "k", 7), ("b", "http://h:2", "k", 7)], members.Select(m => (m.Teacher, m.Address, m.ApiKey, m.TimeoutSeconds)));
    }

    [Theory]
    [InlineData("a@http://h:1 b@http://h:2", "", "mixture", null)]
    [InlineData("a@http://h:1 b@http://h:2", "", "product", null)]
    [InlineData("a@http://h:1 b@http://h:2", "", "average", "Combination must be mixture or product")]
    [InlineData("a@http://h:1 b@http://h:2", "/tmp/teacher.ckpt", "mixture", "--teacher-checkpoint loads one teacher")]
    [InlineData("a@http://h:1 b", "", "mixture", "'b' has no address")]
    public void TheOptionsRefuseAnEnsembleTheyCannotAsk(string teacher, string checkpoint, string combination, string? expected)
    {
        var options = new TeacherClientOptions { Teacher = teacher, Checkpoint = checkpoint, Combination = combination };
        var errors = new List<ValidationResult>();

        bool valid = Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true);

        Assert.Equal(expected is null, valid);
        if (expected is not null) Assert.Contains(expected, Assert.Single(errors).ErrorMessage);
    }

    [Fact]
    public void ACommandThatAsksOneTeacherRefusesAnEnsembleSayingWhere()
    {
        var options = new TeacherClientOptions { Teacher = "a@http://h:1 b@http://h:2" };

        var error = Assert.Throws<ArgumentException>(() => options.RequireOneTeacher("measure-targets"));

        Assert.Contains("measure-targets learns from one teacher, and --teacher names 2", error.Message);
        new TeacherClientOptions { Teacher = "a@http://h:1" }.RequireOneTeacher("measure-targets");
    }
}
