using System.Text.RegularExpressions;

namespace TeacherStudent.Testing;

/// <summary>
/// Code blocks read from the project's documentation, so that what a test runs is exactly what a
/// reader copies: the page cannot drift from the tested code.
/// </summary>
public static partial class DocumentedSnippet
{
    /// <summary>
    /// The one <c>```python</c> block in section <paramref name="heading"/> (a "## " line, up to the next
    /// one) of <paramref name="page"/> (relative to the repository root) that contains <paramref name="marker"/>.
    /// </summary>
    public static string Python(string page, string heading, string marker)
    {
        var path = Path.Combine(Builds.RepositoryRoot, page);
        var text = File.ReadAllText(path).ReplaceLineEndings("\n");
        int start = text.IndexOf($"\n{heading}\n", StringComparison.Ordinal);
        if (start < 0) throw new InvalidDataException($"{page} has no heading '{heading}'.");
        int end = text.IndexOf("\n## ", start + heading.Length + 1, StringComparison.Ordinal);
        var section = end < 0 ? text[start..] : text[start..end];
        var blocks = PythonBlock().Matches(section).Select(m => m.Groups[1].Value).Where(b => b.Contains(marker, StringComparison.Ordinal)).ToList();
        return blocks.Count == 1
            ? blocks[0]
            : throw new InvalidDataException($"section '{heading}' of {page} has {blocks.Count} python blocks containing '{marker}'; expected one.");
    }

    [GeneratedRegex(@"\n```python\n(.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex PythonBlock();
}
