using System.Text.RegularExpressions;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// A Dockerfile read into its instructions and build stages (continuation lines joined, comments
/// dropped, ARG defaults before the first FROM substituted into FROM), enough to check it without
/// a Docker engine.
/// </summary>
public sealed partial class Dockerfile
{
    public sealed record Instruction(string Keyword, string Arguments);

    public sealed record Stage(string Image, string? Name, List<Instruction> Instructions);

    public string Path { get; }

    public List<Stage> Stages { get; } = [];

    /// <summary>ARGs declared before the first FROM, with their defaults.</summary>
    public Dictionary<string, string> GlobalArguments { get; } = [];

    public Dockerfile(string path)
    {
        Path = path;
        var logical = new List<string>();
        var current = "";
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || line.Length == 0) continue;
            if (line.EndsWith('\\')) { current += line[..^1] + " "; continue; }
            logical.Add(current + line);
            current = "";
        }
        foreach (var line in logical)
        {
            var space = line.IndexOf(' ');
            var instruction = new Instruction(line[..space].ToUpperInvariant(), line[(space + 1)..].Trim());
            if (instruction.Keyword == "FROM")
            {
                var match = From().Match(instruction.Arguments);
                var image = Substitute(match.Groups[1].Value, GlobalArguments);
                Stages.Add(new Stage(image, match.Groups[2].Success ? match.Groups[2].Value : null, []));
            }
            else if (Stages.Count == 0 && instruction.Keyword == "ARG")
            {
                var parts = instruction.Arguments.Split('=', 2);
                GlobalArguments[parts[0]] = parts.Length > 1 ? parts[1] : "";
            }
            else
            {
                Stages[^1].Instructions.Add(instruction);
            }
        }
    }

    public Stage Final => Stages[^1];

    /// <summary>The arguments of every instruction of <paramref name="keyword"/> in <paramref name="stage"/>.</summary>
    public static IEnumerable<string> All(Stage stage, string keyword) =>
        stage.Instructions.Where(i => i.Keyword == keyword).Select(i => i.Arguments);

    /// <summary>ENV of the final stage, both forms (<c>ENV A=1 B=2</c>, <c>ENV A 1</c>).</summary>
    public Dictionary<string, string> Environment()
    {
        var environment = new Dictionary<string, string>();
        foreach (var arguments in All(Final, "ENV"))
        {
            if (!arguments.Contains('=')) { var p = arguments.Split(' ', 2); environment[p[0]] = p[1]; continue; }
            foreach (Match m in EnvPair().Matches(arguments)) environment[m.Groups[1].Value] = m.Groups[2].Value.Trim('"');
        }
        return environment;
    }

    private static string Substitute(string text, Dictionary<string, string> arguments) =>
        Variable().Replace(text, m => arguments.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);

    [GeneratedRegex(@"^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$", RegexOptions.IgnoreCase)]
    private static partial Regex From();

    [GeneratedRegex(@"\$\{(\w+)\}")]
    private static partial Regex Variable();

    [GeneratedRegex(@"(\w+)=(""[^""]*""|\S+)")]
    private static partial Regex EnvPair();
}
