using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Training;

/// <summary>A member of a teacher ensemble: where its soft targets come from, and its weight.</summary>
public sealed record EnsembleMember(ISoftTargetSource Source, double Weight);

/// <summary>
/// Soft targets from several teachers at once, combined into one distribution per example
/// (<see cref="EnsembleTargets"/>: the weighted mixture or product of the members' distributions at the
/// students' temperature). The members are asked for each batch at the same time, and may sit in
/// different services or in this process. They must score the same number of classes. The ensemble's
/// version is a digest of the combination, and of every member's name, version and weight in order, so a
/// member swapped or reweighted makes a new version. Its name is the combination's and the members' in
/// order (<c>mixture-of-convnet+mlp</c>), a name fit for a file.
/// </summary>
public sealed class EnsembleSoftTargetSource : ISoftTargetSource
{
    private readonly IReadOnlyList<EnsembleMember> members;
    private readonly EnsembleCombination combination;
    private string[]? names; // the members', from their first Describe (a name does not change; a version may)

    public EnsembleSoftTargetSource(IReadOnlyList<EnsembleMember> members, EnsembleCombination combination)
    {
        EnsembleTargets.CheckMembers(members.Select(m => m.Weight).ToArray(), nameof(members));
        this.members = members;
        this.combination = combination;
    }

    public async Task<TeacherIdentity> DescribeAsync(CancellationToken cancellationToken)
    {
        var identities = await Task.WhenAll(members.Select(m => m.Source.DescribeAsync(cancellationToken)));
        for (int i = 1; i < identities.Length; i++)
            if (identities[i].Classes != identities[0].Classes)
                throw new InvalidOperationException(
                    $"the ensemble's teachers do not agree on their outputs: '{identities[0].Name}' scores {identities[0].Classes} classes, "
                    + $"'{identities[i].Name}' {identities[i].Classes}.");
        names = identities.Select(t => t.Name).ToArray();
        return new TeacherIdentity(EnsembleTargets.Name(combination, names), Version(identities.Select(t => (t.Name, t.Version)).ToArray()), identities[0].Classes);
    }

    public async Task<SoftTargetBatch> GetAsync(ReadOnlyMemory<byte> pixels, int count, CancellationToken cancellationToken)
    {
        if (names is null) await DescribeAsync(cancellationToken);
        var batches = await Task.WhenAll(members.Select(m => m.Source.GetAsync(pixels, count, cancellationToken)));
        for (int i = 1; i < batches.Length; i++)
            if (batches[i].Classes != batches[0].Classes || batches[i].Count != batches[0].Count)
                throw new InvalidOperationException(
                    $"the ensemble's teachers do not agree on their outputs: '{names![0]}' gave [{batches[0].Count}, {batches[0].Classes}], "
                    + $"'{names[i]}' [{batches[i].Count}, {batches[i].Classes}].");
        var version = Version(names!.Select((n, i) => (n, batches[i].TeacherVersion)).ToArray());
        return new SoftTargetBatch(Combine(batches), count, batches[0].Classes, version);
    }

    private float[] Combine(SoftTargetBatch[] batches)
    {
        using var scope = NewDisposeScope();
        var logProbs = batches.Select(b => tensor(b.LogProbs, [b.Count, b.Classes])).ToArray();
        var combined = EnsembleTargets.Combine(logProbs, members.Select(m => m.Weight).ToArray(), combination);
        return combined.data<float>().ToArray();
    }

    private string Version(IReadOnlyList<(string Name, string Version)> answered) =>
        EnsembleTargets.Version(combination, answered.Select((a, i) => (a.Name, a.Version, members[i].Weight)));
}
