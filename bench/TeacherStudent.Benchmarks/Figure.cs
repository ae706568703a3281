using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TeacherStudent.Benchmarks;

/// <summary>One measured figure and the goal it is held against ("reported" when it has none).</summary>
public sealed record Figure(string Name, double Value, string Unit, string Goal, string Detail)
{
    /// <summary>Whether the value meets a goal of the form ">= x" or "&lt;= x" (true when there is no such goal).</summary>
    [JsonIgnore]
    public bool Met => Goal switch
    {
        _ when Goal.StartsWith(">= ", StringComparison.Ordinal) => Value >= double.Parse(Goal[3..], CultureInfo.InvariantCulture),
        _ when Goal.StartsWith("<= ", StringComparison.Ordinal) => Value <= double.Parse(Goal[3..], CultureInfo.InvariantCulture),
        _ => true,
    };
}

/// <summary>
/// Writes figures as <c>{"figures": [...]}</c> and as a Markdown table in one section of a shared file:
/// each benchmark rewrites only the text between its own section's markers, so the serving run keeps
/// the loading figures and the other way round.
/// </summary>
public static class FigureReport
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>What a new file starts with, before its first section.</summary>
    private const string Title = """
        # Benchmarks

        Each section below is written by one benchmark run, between its markers, and rewritten
        only by that benchmark: `./bench.sh` writes "Serving", `./bench.sh load` writes
        "Loading a Hugging Face model". Text outside the markers is kept.

        """;

    /// <param name="section">The section's name in its markers (e.g. "serving").</param>
    /// <param name="preamble">The section's heading and the text above its table.</param>
    public static void Write(IReadOnlyList<Figure> figures, string jsonPath, string markdownPath, string section, string preamble)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(jsonPath))!);
        File.WriteAllText(jsonPath, JsonSerializer.Serialize(new { figures }, Json));

        var md = new StringBuilder(preamble).AppendLine();
        md.AppendLine("| figure | value | unit | goal | met | how |").AppendLine("|---|---|---|---|---|---|");
        foreach (var f in figures)
            md.AppendLine(CultureInfo.InvariantCulture, $"| `{f.Name}` | {Format(f.Value)} | {f.Unit} | {f.Goal} | {(f.Goal == "reported" ? "—" : f.Met ? "yes" : "**no**")} | {f.Detail} |");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(markdownPath))!);
        var existing = File.Exists(markdownPath) ? File.ReadAllText(markdownPath) : Title;
        File.WriteAllText(markdownPath, ReplaceSection(existing, section, md.ToString()));
    }

    /// <summary><paramref name="document"/> with the text between <paramref name="section"/>'s markers replaced (the section appended when it has none).</summary>
    public static string ReplaceSection(string document, string section, string content)
    {
        var begin = $"<!-- {section}: begin (written by the benchmark; edits here are overwritten) -->";
        var end = $"<!-- {section}: end -->";
        var block = $"{begin}\n{content.TrimEnd('\n')}\n{end}";
        int start = document.IndexOf(begin, StringComparison.Ordinal);
        int stop = start < 0 ? -1 : document.IndexOf(end, start, StringComparison.Ordinal);
        if (start < 0 || stop < 0) return $"{document.TrimEnd('\n')}\n\n{block}\n";
        return string.Concat(document.AsSpan(0, start), block, document.AsSpan(stop + end.Length));
    }

    public static string Format(double value) =>
        Math.Abs(value) >= 100 ? value.ToString("0", CultureInfo.InvariantCulture) : value.ToString("0.000", CultureInfo.InvariantCulture);
}
