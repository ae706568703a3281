using System.ComponentModel.DataAnnotations;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Tests.Options;

/// <summary>The checks GenerationOptions makes at start-up, each failing with a sentence that names the keys.</summary>
public sealed class GenerationOptionsTests
{
    private static List<ValidationResult> Problems(GenerationOptions options)
    {
        var problems = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), problems, validateAllProperties: true);
        return problems;
    }

    [Fact]
    public void TheDefaultsAreValid() => Assert.Empty(Problems(new GenerationOptions()));

    [Fact]
    public void AKeyValueBudgetThatCannotHoldOneDefaultSampleIsRefusedNamingBothKeys()
    {
        var problems = Problems(new GenerationOptions { DefaultMaxNewTokens = 64, MaxKvTokens = 64 });

        var problem = Assert.Single(problems);
        Assert.Contains("Generation:MaxKvTokens (64)", problem.ErrorMessage);
        Assert.Contains("Generation:DefaultMaxNewTokens (64)", problem.ErrorMessage);
        Assert.Empty(Problems(new GenerationOptions { DefaultMaxNewTokens = 64, MaxKvTokens = 65 }));
    }

    [Fact]
    public void AKeyValueBudgetBelowTwoTokensIsOutOfRange() =>
        Assert.Contains(Problems(new GenerationOptions { DefaultMaxNewTokens = 1, MaxKvTokens = 1 }), p => p.MemberNames.Contains(nameof(GenerationOptions.MaxKvTokens)));
}
