using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Registry;

namespace TeacherStudent.Teacher.Rpc;

/// <summary>What Describe says about an ensemble of this service's teachers.</summary>
public static class EnsembleDescription
{
    /// <summary>
    /// The <see cref="TeacherInfo"/> of the ensemble <paramref name="held"/> holds: its members' task, input and
    /// outputs (the member that takes the fewest examples at once gives the limits), its own name, version and
    /// architecture (<c>ensemble-mixture</c>, <c>ensemble-product</c>), and its members.
    /// </summary>
    public static TeacherInfo For(EnsembleLease held)
    {
        var info = TeacherDescription.For(held.Representative);
        var ensemble = held.Ensemble;
        var combination = ensemble.Combination.ToString().ToLowerInvariant();
        info.Name = ensemble.Name;
        info.Version = held.Version;
        info.Architecture = $"ensemble-{combination}";
        info.Ensemble = new EnsembleInfo { Combination = combination };
        info.Ensemble.Members.AddRange(held.Teachers.Select((t, i) => new EnsembleMemberInfo { Teacher = t.Name, Version = t.Version, Weight = held.Weights[i] }));
        return info;
    }
}
