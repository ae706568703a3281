namespace TeacherStudent.Distillation.Language;

/// <summary>How a language-model student learns.</summary>
public enum LanguageTrainingMode
{
    /// <summary>Cross-entropy on the corpus's next tokens only; trains teachers and the baselines.</summary>
    Supervised,

    /// <summary>
    /// The teacher's targets for a fixed set of training windows fetched once, before training, and
    /// kept in memory (sparse); the steps then sample batches from those windows only.
    /// </summary>
    Offline,

    /// <summary>Every batch of training windows asks the teacher for its targets while the student trains.</summary>
    Online,

    /// <summary>
    /// The student learns on its own samples (GKD, MiniLLM): each training window's tail is replaced
    /// by a continuation the student samples (with teacher-mixed sampling), which the teacher then scores.
    /// With an on-policy fraction below 1 (GKD's lambda), the other steps are online steps.
    /// </summary>
    OnPolicy,
}

/// <summary>Names of <see cref="LanguageTrainingMode"/> on the command line and in reports.</summary>
public static class LanguageTrainingModes
{
    private static readonly Dictionary<string, LanguageTrainingMode> ByName = new(StringComparer.Ordinal)
    {
        ["supervised"] = LanguageTrainingMode.Supervised,
        ["offline"] = LanguageTrainingMode.Offline,
        ["online"] = LanguageTrainingMode.Online,
        ["on_policy"] = LanguageTrainingMode.OnPolicy,
    };

    /// <summary>Every name <see cref="Parse"/> accepts.</summary>
    public static IReadOnlyCollection<string> Names => ByName.Keys;

    /// <summary>supervised, offline, online or on_policy.</summary>
    public static string Name(this LanguageTrainingMode mode) => ByName.First(p => p.Value == mode).Key;

    /// <summary>Whether the mode needs a teacher.</summary>
    public static bool NeedsTeacher(this LanguageTrainingMode mode) => mode != LanguageTrainingMode.Supervised;

    /// <summary>The mode called <paramref name="name"/>; an unknown name lists the known ones.</summary>
    public static LanguageTrainingMode Parse(string name) =>
        ByName.TryGetValue(name, out var mode)
            ? mode
            : throw new ArgumentException($"unknown language-model training mode '{name}'; known: {string.Join(", ", ByName.Keys)}.");
}
