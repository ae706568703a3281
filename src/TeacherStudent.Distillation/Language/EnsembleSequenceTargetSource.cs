using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Language;

/// <summary>A member of a language-model teacher ensemble: where its targets come from, and its weight.</summary>
public sealed record EnsembleSequenceMember(ISequenceTargetSource Source, double Weight);

/// <summary>
/// A language-model teacher ensemble: every member is asked for its dense log-probabilities at the asked
/// temperature at once, they are combined (<see cref="EnsembleTargets"/>: the weighted mixture or product),
/// and the targets asked for are taken from the combination (dense, the top k with the tail's mass, or k
/// draws: <see cref="SequenceTargets.FromDense"/>). The members must share the tokenizer and the vocabulary
/// (a token id must mean the same text to all). Name and version as <see cref="Training.EnsembleSoftTargetSource"/>'s.
/// </summary>
public sealed class EnsembleSequenceTargetSource : ISequenceTargetSource
{
    private readonly IReadOnlyList<EnsembleSequenceMember> members;
    private readonly EnsembleCombination combination;
    private string[]? names;

    public EnsembleSequenceTargetSource(IReadOnlyList<EnsembleSequenceMember> members, EnsembleCombination combination)
    {
        EnsembleTargets.CheckMembers(members.Select(m => m.Weight).ToArray(), nameof(members));
        this.members = members;
        this.combination = combination;
    }

    public async Task<LanguageTeacherIdentity> DescribeAsync(CancellationToken cancellationToken)
    {
        var identities = await Task.WhenAll(members.Select(m => m.Source.DescribeAsync(cancellationToken)));
        var first = identities[0];
        foreach (var other in identities.Skip(1))
        {
            if (other.TokenizerDigest != first.TokenizerDigest)
                throw new InvalidOperationException(
                    $"the ensemble's teachers do not share a tokenizer: '{first.Name}' uses {first.TokenizerDigest}, '{other.Name}' {other.TokenizerDigest}; "
                    + "a token id must mean the same text to every teacher of an ensemble.");
            if (other.VocabularySize != first.VocabularySize)
                throw new InvalidOperationException(
                    $"the ensemble's teachers do not agree on their vocabulary: '{first.Name}' scores {first.VocabularySize} tokens, '{other.Name}' {other.VocabularySize}.");
        }
        names = identities.Select(t => t.Name).ToArray();
        return new LanguageTeacherIdentity(EnsembleTargets.Name(combination, names), Version(identities.Select(t => t.Version).ToArray()), first.VocabularySize, first.TokenizerDigest,
            identities.Min(t => t.ContextLength));
    }

    public async Task<SequenceTargetBatch> GetAsync(ReadOnlyMemory<int> tokens, int sequences, int length, SequenceTargetSettings settings,
        CancellationToken cancellationToken)
    {
        if (names is null) await DescribeAsync(cancellationToken);
        var dense = settings with { K = 0 };
        var batches = await Task.WhenAll(members.Select(m => m.Source.GetAsync(tokens, sequences, length, dense, cancellationToken)));
        for (int i = 1; i < batches.Length; i++)
            if (batches[i].VocabularySize != batches[0].VocabularySize || batches[i].Positions != batches[0].Positions)
                throw new InvalidOperationException(
                    $"the ensemble's teachers do not agree on their outputs: '{names![0]}' gave [{batches[0].Positions}, {batches[0].VocabularySize}], "
                    + $"'{names[i]}' [{batches[i].Positions}, {batches[i].VocabularySize}].");
        var version = Version(batches.Select(b => b.TeacherVersion).ToArray());
        return Combine(batches, tokens, sequences, length, settings, version);
    }

    // Synchronous: the tensors live in this thread's dispose scope, and only arrays leave it.
    private SequenceTargetBatch Combine(SequenceTargetBatch[] batches, ReadOnlyMemory<int> tokens, int sequences, int length,
        SequenceTargetSettings settings, string version)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var combined = EnsembleTargets.Combine(batches.Select(b => b.DenseTensor(CPU)).ToArray(), members.Select(m => m.Weight).ToArray(), combination);
        return SequenceTargets.FromDense(combined, tokens, sequences, length, settings, version);
    }

    private string Version(IReadOnlyList<string> answered) =>
        EnsembleTargets.Version(combination, answered.Select((v, i) => (names![i], v, members[i].Weight)));
}
