using System.Text;

namespace TeacherStudent.Distillation.Text;

/// <summary>
/// One data file of the Debian package <c>fortunes</c>: entries separated by lines that hold
/// only <c>%</c>. Entries come back normalised: trailing whitespace cut from every line,
/// leading and trailing blank lines dropped, internal newlines kept (<c>\n</c>), terminal
/// overstriking (<c>_\bX</c>, <c>X\bX</c>) resolved to what a terminal shows, empty entries
/// dropped.
/// </summary>
public static class FortuneFile
{
    private const string Separator = "%";

    // Each line is decoded on its own: the files are mostly UTF-8, but some old entries are
    // Latin-1, and one such line must not turn a whole file into mojibake.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads the entries of the file at <paramref name="path"/>, in file order.</summary>
    public static IReadOnlyList<string> ReadEntries(string path) => ParseEntries(File.ReadAllBytes(path));

    /// <summary>Splits the bytes of a fortune file into normalised entries, in file order.</summary>
    public static IReadOnlyList<string> ParseEntries(ReadOnlySpan<byte> bytes)
    {
        var entries = new List<string>();
        var lines = new List<string>();
        while (true)
        {
            int end = bytes.IndexOf((byte)'\n');
            var line = DecodeLine(end < 0 ? bytes : bytes[..end]);
            if (line == Separator)
            {
                AddEntry(entries, lines);
                lines.Clear();
            }
            else
            {
                lines.Add(line);
            }
            if (end < 0) break;
            bytes = bytes[(end + 1)..];
        }
        AddEntry(entries, lines);
        return entries;
    }

    private static string DecodeLine(ReadOnlySpan<byte> bytes)
    {
        string text;
        try { text = StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { text = Encoding.Latin1.GetString(bytes); }
        return ResolveOverstrike(text).TrimEnd();
    }

    /// <summary>
    /// Plays a line with backspaces onto a row of cells the way a terminal does, so that
    /// <c>___\b\b\band</c> (underlined "and") becomes <c>and</c>. Where two characters land on
    /// one cell the one that is not an underscore wins.
    /// </summary>
    internal static string ResolveOverstrike(string line)
    {
        if (!line.Contains('\b')) return line;
        var cells = new StringBuilder(line.Length);
        int column = 0;
        foreach (var c in line)
        {
            if (c == '\b')
            {
                column = Math.Max(0, column - 1);
                continue;
            }
            if (column == cells.Length) cells.Append(c);
            else if (c != '_') cells[column] = c;
            column++;
        }
        return cells.ToString();
    }

    private static void AddEntry(List<string> entries, List<string> lines)
    {
        int first = lines.FindIndex(l => l.Length > 0);
        if (first < 0) return;
        int last = lines.FindLastIndex(l => l.Length > 0);
        entries.Add(string.Join('\n', lines.Skip(first).Take(last - first + 1)));
    }
}
