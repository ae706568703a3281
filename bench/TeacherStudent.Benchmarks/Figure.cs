using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TeacherStudent.Benchmarks;

/// <summary>One measured figure and the goal it is held against ("reported" when it has none).</summary>
public sealed record Figure(string Name, double Value, string Unit, string Goal, string Detail)
{
    /// <summary>Whether the value meets a goal of the form ">= x" (true when there is no such goal).</summary>
    [JsonIgnore]
    public bool Met => !Goal.StartsWith(">= ", StringComparison.Ordinal)
                       || Value >= double.Parse(Goal[3..], CultureInfo.InvariantCulture);
}

/// <summary>Writes figures as <c>{"figures": [...]}</c> and as a Markdown table.</summary>
public static class FigureReport
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static void Write(IReadOnlyList<Figure> figures, string jsonPath, string markdownPath, string preamble)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(jsonPath))!);
        File.WriteAllText(jsonPath, JsonSerializer.Serialize(new { figures }, Json));

        var md = new StringBuilder(preamble).AppendLine();
        md.AppendLine("| figure | value | unit | goal | met | how |").AppendLine("|---|---|---|---|---|---|");
        foreach (var f in figures)
            md.AppendLine(CultureInfo.InvariantCulture, $"| `{f.Name}` | {Format(f.Value)} | {f.Unit} | {f.Goal} | {(f.Goal == "reported" ? "—" : f.Met ? "yes" : "**no**")} | {f.Detail} |");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(markdownPath))!);
        File.WriteAllText(markdownPath, md.ToString());
    }

    public static string Format(double value) =>
        Math.Abs(value) >= 100 ? value.ToString("0", CultureInfo.InvariantCulture) : value.ToString("0.000", CultureInfo.InvariantCulture);
}
