namespace TeacherStudent.Distillation.Losses;

/// <summary>Picks a divergence by the name given in options.</summary>
public static class DistillationLosses
{
    private static readonly Dictionary<string, Func<IDistillationLoss>> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        [ForwardKl.LossName] = () => new ForwardKl(),
    };

    /// <summary>Names that <see cref="Create"/> accepts.</summary>
    public static IReadOnlyCollection<string> Names => Known.Keys;

    /// <summary>The divergence called <paramref name="name"/>; an unknown name lists the known ones.</summary>
    public static IDistillationLoss Create(string name) =>
        Known.TryGetValue(name, out var make)
            ? make()
            : throw new ArgumentException($"unknown distillation loss '{name}'; known: {string.Join(", ", Known.Keys)}.");
}
