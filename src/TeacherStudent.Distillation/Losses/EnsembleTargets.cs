using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>How the distributions of an ensemble's members combine into one (<see cref="EnsembleTargets"/>).</summary>
public enum EnsembleCombination
{
    /// <summary>The weighted mixture Σ wᵢ pᵢ: every member's likely answers stay likely.</summary>
    Mixture,

    /// <summary>The weighted product of experts, softmax(Σ wᵢ log pᵢ): what all members find likely.</summary>
    Product,
}

/// <summary>
/// The soft targets of a teacher ensemble from its members' log-probabilities at one temperature, in log
/// space so that nothing underflows: the mixture is logsumexpᵢ(log wᵢ + log pᵢ), the product of experts
/// log_softmax(Σ wᵢ log pᵢ), with the weights scaled to sum to 1. Members must give distributions over the
/// same outputs (classes or vocabulary) in the same shape.
/// </summary>
public static class EnsembleTargets
{
    /// <summary>The names <see cref="Parse"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["mixture", "product"];

    /// <summary>The combination called <paramref name="name"/> (any case); an unknown name lists the known ones.</summary>
    public static EnsembleCombination Parse(string name) => name.ToLowerInvariant() switch
    {
        "mixture" => EnsembleCombination.Mixture,
        "product" => EnsembleCombination.Product,
        _ => throw new ArgumentException($"unknown ensemble combination '{name}'; known: {string.Join(", ", Names)}."),
    };

    /// <summary>Refuses an ensemble of fewer than two members, or with a weight that is not positive and finite.</summary>
    /// <exception cref="ArgumentException">the members' weights say what is wrong.</exception>
    public static void CheckMembers(IReadOnlyList<double> weights, string paramName)
    {
        if (weights.Count < 2) throw new ArgumentException($"an ensemble needs at least two teachers; {weights.Count} given.", paramName);
        foreach (var weight in weights)
            if (!(weight > 0) || double.IsInfinity(weight))
                throw new ArgumentException($"a teacher's weight in an ensemble must be positive and finite, not {weight}.", paramName);
    }

    /// <summary>An ensemble's name: its combination's and its members', in order (<c>mixture-of-convnet+mlp</c>), fit for a file name.</summary>
    public static string Name(EnsembleCombination combination, IEnumerable<string> members) =>
        $"{combination.ToString().ToLowerInvariant()}-of-{string.Join('+', members)}";

    /// <summary>
    /// An ensemble's version: a digest of the combination and of every member's name, version and weight, in
    /// order, so that a member swapped or reweighted makes a new version (and misses every cache keyed by it).
    /// The same wherever the ensemble is put together, in a student or in the teacher service. The inputs are
    /// written as length-prefixed strings and fixed-size numbers, as the service's cache keys are, so that no
    /// two ensembles serialise alike.
    /// </summary>
    public static string Version(EnsembleCombination combination, IEnumerable<(string Name, string Version, double Weight)> members)
    {
        using var buffer = new MemoryStream();
        using var writer = new BinaryWriter(buffer, Encoding.UTF8);
        writer.Write(combination.ToString());
        foreach (var (name, version, weight) in members)
        {
            writer.Write(name);
            writer.Write(version);
            writer.Write(weight);
        }
        writer.Flush();
        return Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray()))[..16];
    }

    /// <summary>
    /// The ensemble's log-probabilities [..., V] from each member's <paramref name="logProbs"/> [..., V] and its
    /// <paramref name="weights"/> (positive; scaled to sum to 1).
    /// </summary>
    public static Tensor Combine(IReadOnlyList<Tensor> logProbs, IReadOnlyList<double> weights, EnsembleCombination combination)
    {
        if (logProbs.Count == 0) throw new ArgumentException("an ensemble needs at least one member.", nameof(logProbs));
        if (weights.Count != logProbs.Count)
            throw new ArgumentException($"{logProbs.Count} members but {weights.Count} weights.", nameof(weights));
        for (int i = 0; i < weights.Count; i++)
            if (!(weights[i] > 0) || double.IsInfinity(weights[i]))
                throw new ArgumentException($"member {i}'s weight is {weights[i]}; weights must be positive and finite.", nameof(weights));
        for (int i = 1; i < logProbs.Count; i++)
            if (!logProbs[i].shape.SequenceEqual(logProbs[0].shape))
                throw new ArgumentException(
                    $"member {i} gives log-probabilities of shape [{string.Join(", ", logProbs[i].shape)}], "
                    + $"member 0 of [{string.Join(", ", logProbs[0].shape)}]; members must agree on their outputs.", nameof(logProbs));

        var total = weights.Sum();
        var first = logProbs[0];
        // Each member's weight, shaped to broadcast over its log-probabilities in the stack [M, ..., V].
        long[] weightShape = [logProbs.Count, .. Enumerable.Repeat(1L, (int)first.dim())];
        var scaled = tensor(weights.Select(w => w / total).ToArray(), ScalarType.Float64).to(first.dtype, first.device).view(weightShape);
        var stacked = stack(logProbs, 0);
        return combination switch
        {
            EnsembleCombination.Mixture => stacked.add(scaled.log(), TorchScalars.One).logsumexp(0),
            EnsembleCombination.Product => stacked.mul(scaled).sum([0L]).log_softmax(-1), // not sum(0): 0 binds to sum(ScalarType)
            _ => throw new ArgumentOutOfRangeException(nameof(combination), combination, null),
        };
    }
}
