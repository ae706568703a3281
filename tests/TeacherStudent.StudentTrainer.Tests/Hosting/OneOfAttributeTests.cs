using System.ComponentModel.DataAnnotations;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.Images;
using TeacherStudent.StudentTrainer.Language;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.Tests.Hosting;

public sealed class OneOfAttributeTests
{
    private static List<string> Failures(object options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results.Select(r => r.ErrorMessage ?? "").ToList();
    }

    [Fact]
    public void ANameOutsideTheListIsRefusedWithEveryNameTheOptionTakes()
    {
        var options = new TrainerOptions { Mode = "sideways" };

        var failures = Failures(options);

        Assert.Equal(["Mode must be supervised, offline, online, pseudo or self."], failures);
    }

    [Fact]
    public void AnUnknownLossIsRefusedWhenTheOptionsAreValidatedNamingTheLossesThereAre()
    {
        var options = new LanguageTrainerOptions { Loss = "cosine" };

        var failures = Failures(options);

        Assert.Equal(["Loss must be forward_kl, reverse_kl, jsd, skew_kl, skew_reverse_kl, uld or projected_kl."], failures);
    }

    [Theory]
    [InlineData("Forward_KL")]
    [InlineData("JSD")]
    public void ALossIsTakenInAnyCaseAsTheLossesAreCreated(string loss)
    {
        var options = new TrainerOptions { Loss = loss };

        var failures = Failures(options);

        Assert.Empty(failures);
        Assert.NotNull(DistillationLosses.Create(loss));
    }

    [Fact]
    public void OtherNamesAreMatchedExactly()
    {
        var options = new LanguageTrainerOptions { Targets = "Top_K" };

        var failures = Failures(options);

        Assert.Equal(["Targets must be top_k or sampled."], failures);
    }

    [Fact]
    public void AnEmptyValueIsLeftToRequired()
    {
        // TargetsDtype is not [Required]: empty passes, as it did under the regular expression before.
        var options = new TeacherClientOptions { TargetsDtype = "" };

        var failures = Failures(options);

        Assert.Empty(failures);
    }

    [Fact]
    public void NamesComeFromAListOrTheKeysOfADictionaryInTheirOrder()
    {
        Assert.Equal(["supervised", "offline", "online", "pseudo", "self"], new OneOfAttribute(typeof(TrainerOptions), nameof(TrainerOptions.Modes)).Names);
        Assert.Equal(["top_k", "sampled"], new OneOfAttribute(typeof(LanguageTrainerOptions), nameof(LanguageTrainerOptions.TargetKinds)).Names);
    }

    [Fact]
    public void AMemberThatHoldsNoNamesIsAProgrammingErrorSaidPlainly()
    {
        var attribute = new OneOfAttribute(typeof(TrainerOptions), "NoSuchList");

        var error = Assert.Throws<InvalidOperationException>(() => attribute.Names);

        Assert.Contains("TrainerOptions.NoSuchList", error.Message);
    }
}
