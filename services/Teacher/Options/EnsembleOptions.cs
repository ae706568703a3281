using System.ComponentModel.DataAnnotations;
using TeacherStudent.Distillation.Losses;

namespace TeacherStudent.Teacher.Options;

/// <summary>
/// One ensemble of this service's teachers, answered like any teacher: an item of the "Ensembles" list
/// (Ensembles:0:Name=both, Ensembles:0:Combination=mixture, Ensembles:0:Members:0:Teacher=convnet,
/// Ensembles:0:Members:0:Weight=2, Ensembles:0:Members:1:Teacher=mlp). See <see cref="TeachersOptions"/>.
/// </summary>
public sealed class EnsembleOptions : IValidatableObject
{
    /// <summary>Name callers use to ask for the ensemble; unique among all teachers.</summary>
    [Required(AllowEmptyStrings = false)]
    [RegularExpression(TeacherNames.Pattern, ErrorMessage = TeacherNames.Rule)]
    public string Name { get; set; } = "";

    /// <summary>
    /// How the members' distributions at the asked temperature are combined: "mixture" (the weighted mean of their
    /// probabilities) or "product" (of experts: the weighted mean of their log-probabilities, renormalised).
    /// </summary>
    public string Combination { get; set; } = "mixture";

    /// <summary>The teachers of the ensemble, each a checkpoint teacher of this service, with its weight.</summary>
    public List<EnsembleMemberOptions> Members { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!EnsembleTargets.Names.Contains(Combination, StringComparer.Ordinal))
            yield return new ValidationResult($"Combination '{Combination}' of ensemble '{Name}' is not one of {string.Join(", ", EnsembleTargets.Names)}.", [nameof(Combination)]);
        if (Members.Count < 2)
            yield return new ValidationResult($"ensemble '{Name}' has {Members.Count} member(s); an ensemble needs at least two (Members:0:Teacher, Members:1:Teacher, ...).", [nameof(Members)]);
        for (int i = 0; i < Members.Count; i++)
        {
            var member = Members[i];
            if (string.IsNullOrWhiteSpace(member.Teacher))
                yield return new ValidationResult($"Members:{i}:Teacher of ensemble '{Name}' is empty; name a teacher of this service.", [nameof(Members)]);
            if (!(member.Weight > 0) || double.IsInfinity(member.Weight))
                yield return new ValidationResult($"Members:{i}:Weight of ensemble '{Name}' is {member.Weight}; a weight is a positive number.", [nameof(Members)]);
        }
        foreach (var twice in Members.GroupBy(m => m.Teacher, StringComparer.Ordinal).Where(g => g.Count() > 1))
            yield return new ValidationResult($"ensemble '{Name}' names teacher '{twice.Key}' {twice.Count()} times; name it once, with the weight it should have.", [nameof(Members)]);
    }
}

/// <summary>A member of an <see cref="EnsembleOptions"/>: a teacher of this service and its weight (1 unless given; only the weights' ratios count).</summary>
public sealed class EnsembleMemberOptions
{
    public string Teacher { get; set; } = "";

    public double Weight { get; set; } = 1;
}
