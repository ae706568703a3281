using System.Text.RegularExpressions;

namespace TeacherStudent.Teacher.Options;

/// <summary>
/// What a teacher name may be: it is also a file name in the watched folder
/// (<c>&lt;name&gt;.ckpt</c>), so letters, digits, '.', '_' and '-' only.
/// </summary>
public static partial class TeacherNames
{
    /// <summary>The rule, as a regular expression.</summary>
    public const string Pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";

    /// <summary>The rule, as a sentence for error messages.</summary>
    public const string Rule = "A teacher name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.";

    /// <summary>True when <paramref name="name"/> follows the rule.</summary>
    public static bool IsValid(string? name) => name is not null && Valid().IsMatch(name);

    [GeneratedRegex(Pattern)]
    private static partial Regex Valid();
}
