using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Registry;

/// <summary>
/// The ensembles of this service's teachers, by name, from the "Ensembles" options. Made at start,
/// after the registry: members that do not agree on what they answer (a language model among
/// classifiers, another example shape or context, other outputs or class names, another tokenizer)
/// stop start-up with one sentence.
/// A member's new version must keep its shape and outputs (<see cref="TeacherLoader"/>), so members
/// agree for the life of the service.
/// </summary>
public sealed class TeacherEnsembles
{
    private readonly Dictionary<string, TeacherEnsemble> ensembles = new(StringComparer.Ordinal);

    /// <exception cref="TeacherStartupException">the members of an ensemble do not agree.</exception>
    public TeacherEnsembles(IOptions<TeachersOptions> options, TeacherRegistry registry)
    {
        foreach (var (o, index) in options.Value.Ensembles.Select((e, i) => (e, i)))
        {
            var ensemble = new TeacherEnsemble(o.Name, EnsembleTargets.Parse(o.Combination),
                o.Members.Select(m => new EnsembleMemberWeight(m.Teacher, m.Weight)).ToArray(), registry);
            using (var lease = ensemble.Acquire())
            {
                if (lease is null)
                    throw new TeacherStartupException($"{TeachersOptions.EnsemblesSection}:{index}: a member of ensemble '{o.Name}' is not loaded.");
                if (lease.Disagreement() is { } why)
                    throw new TeacherStartupException($"{TeachersOptions.EnsemblesSection}:{index}: the members of ensemble '{o.Name}' {why}");
            }
            ensembles.Add(ensemble.Name, ensemble);
        }
    }

    /// <summary>Every ensemble, in name order.</summary>
    public IReadOnlyList<TeacherEnsemble> All => ensembles.Values.OrderBy(e => e.Name, StringComparer.Ordinal).ToArray();

    /// <summary>The names, in order, for messages that list them.</summary>
    public string KnownNames => string.Join(", ", ensembles.Keys.Order(StringComparer.Ordinal));

    /// <summary>The ensemble called <paramref name="name"/>, if there is one.</summary>
    public bool TryGet(string name, [NotNullWhen(true)] out TeacherEnsemble? ensemble) => ensembles.TryGetValue(name, out ensemble);
}

/// <summary>A member of a <see cref="TeacherEnsemble"/>: a teacher's name and its weight.</summary>
public sealed record EnsembleMemberWeight(string Teacher, double Weight);

/// <summary>An ensemble of teachers held by the registry, combined as <see cref="Combination"/> says.</summary>
public sealed class TeacherEnsemble(string name, EnsembleCombination combination, IReadOnlyList<EnsembleMemberWeight> members, TeacherRegistry registry)
{
    public string Name { get; } = name;

    public EnsembleCombination Combination { get; } = combination;

    public IReadOnlyList<EnsembleMemberWeight> Members { get; } = members;

    /// <summary>
    /// A hold on the current version of every member, so that one batch is answered by one version of each;
    /// null when a member is not held (which start-up rules out: names are never removed).
    /// </summary>
    public EnsembleLease? Acquire()
    {
        var leases = new List<TeacherLease>(Members.Count);
        foreach (var member in Members)
        {
            if (registry.Acquire(member.Teacher) is not { } lease)
            {
                foreach (var held in leases) held.Dispose();
                return null;
            }
            leases.Add(lease);
        }
        return new EnsembleLease(this, leases);
    }
}

/// <summary>
/// One version of every member of an ensemble, held until disposed; the ensemble's version at that moment is
/// <see cref="Version"/> (a digest of the combination, and of every member's name, version and weight).
/// </summary>
public sealed class EnsembleLease : IDisposable
{
    private readonly IReadOnlyList<TeacherLease> leases;

    internal EnsembleLease(TeacherEnsemble ensemble, IReadOnlyList<TeacherLease> leases)
    {
        Ensemble = ensemble;
        this.leases = leases;
        Teachers = leases.Select(l => l.Teacher).ToArray();
        Weights = ensemble.Members.Select(m => m.Weight).ToArray();
        // A language model's answers depend on the dtype it computes in too (Teacher:DType), which its version does not name.
        Version = EnsembleTargets.Version(ensemble.Combination,
            Teachers.Select((t, i) => (t.Name, t.Language is { } lm ? $"{t.Version}/{lm.Facts.ComputeDType}" : t.Version, Weights[i])));
        // Requests are checked against the member that takes the fewest examples at once: every member takes them then.
        Representative = Teachers.MinBy(t => t.MaxBatch)!;
    }

    public TeacherEnsemble Ensemble { get; }

    /// <summary>The members' versions held, in the ensemble's order.</summary>
    public IReadOnlyList<LoadedTeacher> Teachers { get; }

    /// <summary>The members' weights, in the same order.</summary>
    public IReadOnlyList<double> Weights { get; }

    public string Version { get; }

    /// <summary>The member a request is checked against (shape, batch limit): the one with the smallest MaxBatch.</summary>
    public LoadedTeacher Representative { get; }

    /// <summary>What the members disagree on, as the end of a sentence; null when they agree.</summary>
    public string? Disagreement()
    {
        var first = Teachers[0];
        foreach (var other in Teachers.Skip(1))
        {
            if ((first.Language is null) != (other.Language is null))
                return $"mix a classifier and a language model ('{(first.Language is null ? first.Name : other.Name)}' is the classifier); an ensemble's members answer alike.";
            if (first.Language is { } a && other.Language is { } b && a.Tokenizer.Digest != b.Tokenizer.Digest)
                return $"do not share a tokenizer: '{first.Name}' uses {a.Tokenizer.Digest}, '{other.Name}' {b.Tokenizer.Digest}; a token id must mean the same text to every member.";
            if (!first.ExampleShape.SequenceEqual(other.ExampleShape))
                return $"do not take the same examples: '{first.Name}' takes [{string.Join(", ", first.ExampleShape)}], '{other.Name}' [{string.Join(", ", other.ExampleShape)}].";
            if (first.NumOutputs != other.NumOutputs)
                return $"do not agree on their outputs: '{first.Name}' scores {first.NumOutputs} classes, '{other.Name}' {other.NumOutputs}.";
            if (first.ClassNames is { } mine && other.ClassNames is { } theirs && !mine.SequenceEqual(theirs))
                return $"do not name their classes alike: '{first.Name}' has {string.Join(", ", mine)}; '{other.Name}' has {string.Join(", ", theirs)}.";
        }
        return null;
    }

    public void Dispose()
    {
        foreach (var lease in leases) lease.Dispose();
    }
}
