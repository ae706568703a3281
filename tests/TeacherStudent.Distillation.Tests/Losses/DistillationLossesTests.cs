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

    [Theory]
    [InlineData("reverse_kl", typeof(ReverseKl))]
    [InlineData("jsd", typeof(GeneralizedJsd))]
    [InlineData("skew_kl", typeof(SkewKl))]
    [InlineData("skew_reverse_kl", typeof(SkewReverseKl))]
    public void EachDivergenceOfTheFamilyIsChosenByItsName(string name, Type type)
    {
        var loss = DistillationLosses.Create(name);

        Assert.IsType(type, loss);
    }

    [Fact]
    public void TheMixingWeightsDefaultToThePapersChoices()
    {
        Assert.Equal(0.5, Assert.IsType<GeneralizedJsd>(DistillationLosses.Create("jsd")).Beta);
        Assert.Equal(0.1, Assert.IsType<SkewKl>(DistillationLosses.Create("skew_kl")).Alpha);
        Assert.Equal(0.1, Assert.IsType<SkewReverseKl>(DistillationLosses.Create("skew_reverse_kl")).Alpha);
    }

    [Fact]
    public void AGivenMixingWeightIsTheJsdsBetaAndTheSkewLossesAlpha()
    {
        Assert.Equal(0.9, Assert.IsType<GeneralizedJsd>(DistillationLosses.Create("jsd", 0.9)).Beta);
        Assert.Equal(0.3, Assert.IsType<SkewKl>(DistillationLosses.Create("skew_kl", 0.3)).Alpha);
        Assert.Equal(0.2, Assert.IsType<SkewReverseKl>(DistillationLosses.Create("skew_reverse_kl", 0.2)).Alpha);
    }

    [Theory]
    [InlineData("forward_kl")]
    [InlineData("reverse_kl")]
    public void APlainKlRefusesAMixingWeight(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => DistillationLosses.Create(name, 0.5));

        Assert.Contains($"{name} has no mixing weight", error.Message);
    }

    [Fact]
    public void AMixingWeightOutOfRangeIsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => DistillationLosses.Create("jsd", 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => DistillationLosses.Create("skew_kl", 1.0));
    }

    [Fact]
    public void AnUnknownLossNameThrowsWithTheListOfKnownNames()
    {
        var error = Assert.Throws<ArgumentException>(() => DistillationLosses.Create("reverse_klx"));

        Assert.Contains("'reverse_klx'", error.Message);
        Assert.Contains("known: forward_kl, reverse_kl, jsd, skew_kl, skew_reverse_kl", error.Message);
    }

    [Fact]
    public void EveryKnownNameCreatesALossOfThatName()
    {
        Assert.NotEmpty(DistillationLosses.Names);

        Assert.All(DistillationLosses.Names, name => Assert.Equal(name, DistillationLosses.Create(name).Name));
    }
}
