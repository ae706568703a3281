using TeacherStudent.Teacher.Generation;

namespace TeacherStudent.Teacher.Registry;

/// <summary>Every teacher name this service answers to, held here or upstream, for messages that list them.</summary>
public sealed class KnownTeachers(TeacherRegistry registry, IUpstreamGenerators upstream, TeacherEnsembles ensembles)
{
    /// <summary>The names, comma-separated: the registry's, then the upstream teachers', then the ensembles'.</summary>
    public string All => string.Join(", ", new[] { registry.KnownNames, upstream.KnownNames, ensembles.KnownNames }.Where(n => n.Length > 0));

    /// <summary>The sentence for a teacher name that is none of these; the name is shown as <see cref="EchoedText"/> does.</summary>
    public string NoTeacherNamed(string name) => $"there is no teacher named '{EchoedText.Of(name)}'; this service holds: {All}.";
}
