using System.Text.RegularExpressions;

namespace TeacherStudent.Distillation.Text;

/// <summary>
/// Cuts text into the pieces BPE works within (merges never cross a piece boundary): GPT-2's
/// pattern, so English contractions, words with their leading space, numbers, runs of
/// punctuation and runs of whitespace are pieces of their own. Pieces cover the text
/// exactly, so joining them gives the text back.
/// </summary>
public static partial class PreSplit
{
    /// <summary>The pattern, as saved with a tokenizer and covered by its digest.</summary>
    public const string Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex PieceRegex();

    /// <summary>The ranges of the pieces of <paramref name="text"/>, in order, covering all of it.</summary>
    public static List<Range> Pieces(string text)
    {
        var pieces = new List<Range>();
        int covered = 0;
        foreach (var match in PieceRegex().EnumerateMatches(text))
        {
            // The pattern matches every character, so gaps should not occur; if one does, it
            // becomes a piece of its own rather than being lost.
            if (match.Index > covered) pieces.Add(covered..match.Index);
            pieces.Add(match.Index..(match.Index + match.Length));
            covered = match.Index + match.Length;
        }
        if (covered < text.Length) pieces.Add(covered..text.Length);
        return pieces;
    }
}
