using System.Text.RegularExpressions;

namespace TeacherStudent.Teacher.Registry;

/// <summary>
/// Why a new version of a teacher was not loaded: <paramref name="Full"/> for the log and the admin key (paths and
/// all), <paramref name="Public"/> for every other caller of Describe (no path on the service's machine in it).
/// </summary>
public sealed partial record LoadError(string Full, string Public)
{
    /// <summary>What a caller in <paramref name="role"/> is shown.</summary>
    public string For(Auth.CallerRole role) => role == Auth.CallerRole.Admin ? Full : Public;

    /// <summary>
    /// <paramref name="message"/> with the folder of <paramref name="checkpoint"/> left out of every path under it
    /// ("model/model.safetensors"), and any other absolute path cut to its last name, so that it tells a caller
    /// what was wrong with the files without telling where anything is on the service's disk.
    /// </summary>
    public static string WithoutPaths(string message, string checkpoint)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(checkpoint.TrimEnd('/')));
        if (!string.IsNullOrEmpty(folder) && folder != "/") message = message.Replace(folder + "/", "", StringComparison.Ordinal);
        return AbsolutePath().Replace(message, match => Path.GetFileName(match.Value.TrimEnd('/')) is { Length: > 0 } last ? last : "(a path)");
    }

    // A slash that starts a path (not one inside a word, a URL or a relative path), then everything up to a space, quote or punctuation that ends it.
    [GeneratedRegex(@"(?<![\w.:/~-])/[^\s'"",;()\[\]{}]*")]
    private static partial Regex AbsolutePath();
}
