using System.Text.Json;
using TeacherStudent.StudentTrainer.Language;

namespace TeacherStudent.StudentTrainer.Hosting;

/// <summary>Files of one JSON object per line, whose fields the commands read as strings.</summary>
public static class JsonLines
{
    /// <summary>One object per line: no indentation, text written as it reads.</summary>
    private static readonly JsonSerializerOptions Compact = new(LanguageRunOutputs.Json) { WriteIndented = false };

    /// <summary>Writes <paramref name="rows"/> to <paramref name="path"/>, one JSON object per line.</summary>
    public static Task WriteAsync<T>(string path, IEnumerable<T> rows, CancellationToken cancellationToken) =>
        File.WriteAllLinesAsync(path, rows.Select(r => JsonSerializer.Serialize(r, Compact)), cancellationToken);

    /// <summary>
    /// Every non-empty line of <paramref name="path"/> as its string fields; each of
    /// <paramref name="required"/> must be in every line.
    /// </summary>
    public static List<Dictionary<string, string>> Read(string path, params string[] required)
    {
        if (!File.Exists(path)) throw new ArgumentException($"{path} does not exist.");
        var rows = new List<Dictionary<string, string>>();
        int number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            Dictionary<string, JsonElement>? fields;
            try
            {
                fields = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(line);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{number} is not a JSON object: {e.Message}");
            }
            var row = (fields ?? []).ToDictionary(f => f.Key, f => f.Value.ValueKind == JsonValueKind.String ? f.Value.GetString()! : f.Value.GetRawText());
            foreach (var field in required)
                if (!row.ContainsKey(field)) throw new InvalidDataException($"{path}:{number} has no \"{field}\" field.");
            rows.Add(row);
        }
        if (rows.Count == 0) throw new InvalidDataException($"{path} holds no lines.");
        return rows;
    }
}
