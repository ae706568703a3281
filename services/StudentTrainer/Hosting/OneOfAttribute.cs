using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Reflection;

namespace TeacherStudent.StudentTrainer.Hosting;

/// <summary>
/// A text option that takes one of a few names, read from a static property or field of
/// <paramref name="source"/> (a list of names, or a dictionary keyed by them): the list the code
/// parses the value with, so that validation, the error message and the switch's help
/// (<see cref="OptionSwitches"/>) all name the same values. An empty value passes; [Required]
/// says whether one may be empty.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class OneOfAttribute(Type source, string member) : ValidationAttribute
{
    private IReadOnlyList<string>? names;

    /// <summary>Whether the names are matched in any case (as <c>DistillationLosses</c> matches losses).</summary>
    public bool IgnoreCase { get; set; }

    /// <summary>The names the option takes, in the order of their source.</summary>
    public IReadOnlyList<string> Names => names ??= Read(source, member);

    public override bool IsValid(object? value) =>
        value is not string text || text.Length == 0 || Names.Contains(text, IgnoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    public override string FormatErrorMessage(string name) => $"{name} must be {Listed(Names)}.";

    /// <summary>"a", "a or b", "a, b or c".</summary>
    public static string Listed(IReadOnlyList<string> names) =>
        names.Count <= 1 ? string.Concat(names) : $"{string.Join(", ", names.Take(names.Count - 1))} or {names[^1]}";

    private static string[] Read(Type source, string member)
    {
        const BindingFlags Static = BindingFlags.Public | BindingFlags.Static;
        object? value = source.GetProperty(member, Static)?.GetValue(null) ?? source.GetField(member, Static)?.GetValue(null);
        return value switch
        {
            IEnumerable<string> list => [.. list],
            IDictionary dictionary => [.. dictionary.Keys.Cast<string>()],
            _ => throw new InvalidOperationException($"{source.Name}.{member} is no public static list of names."),
        };
    }
}
