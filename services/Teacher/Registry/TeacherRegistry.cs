using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace TeacherStudent.Teacher.Registry;

/// <summary>
/// The teachers this service holds, by name. One is configured today; keying by name is what
/// lets more arrive later without changing callers.
/// </summary>
public sealed class TeacherRegistry : IDisposable
{
    private readonly FrozenDictionary<string, LoadedTeacher> teachers;

    public TeacherRegistry(IEnumerable<LoadedTeacher> teachers)
    {
        this.teachers = teachers.ToFrozenDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Every teacher, in name order.</summary>
    public IReadOnlyList<LoadedTeacher> All => teachers.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();

    /// <summary>The known names, in order, for messages that list them.</summary>
    public string KnownNames => string.Join(", ", teachers.Keys.Order(StringComparer.Ordinal));

    /// <summary>Finds a teacher by its exact name.</summary>
    public bool TryGet(string name, [NotNullWhen(true)] out LoadedTeacher? teacher) => teachers.TryGetValue(name, out teacher);

    public void Dispose()
    {
        foreach (var teacher in teachers.Values) teacher.Dispose();
    }
}
