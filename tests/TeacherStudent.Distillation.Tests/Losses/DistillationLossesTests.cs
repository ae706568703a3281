using TeacherStudent.Distillation.Losses;

namespace TeacherStudent.Distillation.Tests.Losses;

public sealed class DistillationLossesTests
{
    [Theory]
    [InlineData("forward_kl")]
    [InlineData("Forward_KL")]
    public void ForwardKlIsChosenByItsNameInAnyCase(string name)
    {
        var loss = DistillationLosses.Create(name);

        Assert.IsType<ForwardKl>(loss);
        Assert.Equal("forward_kl", loss.Name);
    }

    [Fact]
    public void AnUnknownLossNameThrowsWithTheListOfKnownNames()
    {
        var error = Assert.Throws<ArgumentException>(() => DistillationLosses.Create("reverse_klx"));

        Assert.Contains("'reverse_klx'", error.Message);
        Assert.Contains("known: forward_kl", error.Message);
    }

    [Fact]
    public void EveryKnownNameCreatesALossOfThatName()
    {
        Assert.NotEmpty(DistillationLosses.Names);

        Assert.All(DistillationLosses.Names, name => Assert.Equal(name, DistillationLosses.Create(name).Name));
    }
}
