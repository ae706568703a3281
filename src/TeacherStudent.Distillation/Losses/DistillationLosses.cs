namespace TeacherStudent.Distillation.Losses;

/// <summary>Picks a divergence by the name given in options.</summary>
public static class DistillationLosses
{
    // Each maker takes the optional mixing weight; those without one refuse it.
    private static readonly Dictionary<string, Func<double?, IDistillationLoss>> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        [ForwardKl.LossName] = weight => Unmixed(ForwardKl.LossName, weight, new ForwardKl()),
        [ReverseKl.LossName] = weight => Unmixed(ReverseKl.LossName, weight, new ReverseKl()),
        [GeneralizedJsd.LossName] = weight => new GeneralizedJsd(weight ?? GeneralizedJsd.DefaultBeta),
        [SkewKl.LossName] = weight => new SkewKl(weight ?? SkewKl.DefaultAlpha),
        [SkewReverseKl.LossName] = weight => new SkewReverseKl(weight ?? SkewReverseKl.DefaultAlpha),
    };

    /// <summary>Names that <see cref="Create"/> accepts.</summary>
    public static IReadOnlyCollection<string> Names => Known.Keys;

    /// <summary>
    /// The divergence called <paramref name="name"/>; an unknown name lists the known ones.
    /// </summary>
    /// <param name="name">forward_kl, reverse_kl, jsd, skew_kl or skew_reverse_kl, in any case.</param>
    /// <param name="mixingWeight">
    /// beta of jsd (default 0.5) or alpha of skew_kl and skew_reverse_kl (default 0.1); null for
    /// the default. The plain KLs have none and refuse one.
    /// </param>
    public static IDistillationLoss Create(string name, double? mixingWeight = null) =>
        Known.TryGetValue(name, out var make)
            ? make(mixingWeight)
            : throw new ArgumentException($"unknown distillation loss '{name}'; known: {string.Join(", ", Known.Keys)}.");

    private static IDistillationLoss Unmixed(string name, double? weight, IDistillationLoss loss) =>
        weight is null
            ? loss
            : throw new ArgumentException($"{name} has no mixing weight (only jsd's beta and the skew losses' alpha); leave it unset.");
}
