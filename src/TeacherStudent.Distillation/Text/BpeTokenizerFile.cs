using System.Globalization;
using System.Text.Json;
using TeacherStudent.Distillation.Models;

namespace TeacherStudent.Distillation.Text;

/// <summary>
/// The file a <see cref="BpeTokenizer"/> is saved in, beside a checkpoint: JSON with the
/// format name, the pre-split pattern, the special tokens and the merges as
/// <c>"left right"</c> id pairs in learning order, e.g.
/// <code>{"format": "TeacherStudent byte-level BPE v1", "pattern": "...", "specialTokens": {"&lt;|endoftext|&gt;": 256}, "merges": ["32 116", "104 101"]}</code>
/// Ids 0-255 are bytes, so the merges alone rebuild the vocabulary.
/// </summary>
public static class BpeTokenizerFile
{
    /// <summary>The value of the <c>format</c> field, and the first line of the digest's canonical form.</summary>
    public const string Format = "TeacherStudent byte-level BPE v1";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Writes <paramref name="tokenizer"/> to <paramref name="path"/> through a temporary file and a rename.</summary>
    public static void Save(string path, BpeTokenizer tokenizer)
    {
        var bytes = ToJson(tokenizer);
        Checkpoint.WriteAtomically(path, writer => writer.Write(bytes));
    }

    /// <summary>Reads a tokenizer file written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not such a tokenizer, or one this version cannot encode like.</exception>
    public static BpeTokenizer Load(string path) => FromJson(File.ReadAllBytes(path), path);

    /// <summary>The file's contents (UTF-8 JSON), as also kept inside a language-model checkpoint.</summary>
    public static byte[] ToJson(BpeTokenizer tokenizer)
    {
        var contents = new Contents(
            Format,
            PreSplit.Pattern,
            new Dictionary<string, int> { [BpeTokenizer.EndOfTextMarker] = BpeTokenizer.EndOfTextId },
            [.. tokenizer.Merges.Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Left} {m.Right}"))]);
        return JsonSerializer.SerializeToUtf8Bytes(contents, Json);
    }

    /// <summary>A tokenizer from contents written by <see cref="ToJson"/>; <paramref name="source"/> names where they came from in errors.</summary>
    /// <exception cref="InvalidDataException">The contents are not such a tokenizer, or one this version cannot encode like.</exception>
    public static BpeTokenizer FromJson(byte[] json, string source)
    {
        try
        {
            var contents = JsonSerializer.Deserialize<Contents>(json, Json)
                           ?? throw new InvalidDataException("it is empty.");
            if (contents.Format != Format)
                throw new InvalidDataException($"its format is '{contents.Format}', not '{Format}'.");
            if (contents.Pattern != PreSplit.Pattern)
                throw new InvalidDataException($"it pre-splits text with '{contents.Pattern}'; this version knows only '{PreSplit.Pattern}'.");
            if (contents.SpecialTokens is not { Count: 1 } special
                || !special.TryGetValue(BpeTokenizer.EndOfTextMarker, out var endOfText) || endOfText != BpeTokenizer.EndOfTextId)
                throw new InvalidDataException($"its special tokens should be exactly {BpeTokenizer.EndOfTextMarker} = {BpeTokenizer.EndOfTextId}.");
            var merges = (contents.Merges ?? throw new InvalidDataException("it has no merges list.")).Select(ParseMerge);
            return new BpeTokenizer(merges);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or FormatException or OverflowException or InvalidDataException)
        {
            throw new InvalidDataException($"{source} is not a readable TeacherStudent BPE tokenizer: {e.Message}", e);
        }
    }

    private static (int Left, int Right) ParseMerge(string merge)
    {
        var parts = merge.Split(' ');
        if (parts.Length != 2) throw new FormatException($"merge '{merge}' should be two ids separated by one space.");
        return (int.Parse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture),
                int.Parse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture));
    }

    private sealed record Contents(string Format, string Pattern, Dictionary<string, int>? SpecialTokens, List<string>? Merges);
}
