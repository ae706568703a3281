using System.Text;
using System.Text.Unicode;
using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// A student's window of token ids as text, with the bytes of that text's UTF-8 each of its tokens covers
/// (token i is bytes [<see cref="Starts"/>[i], <see cref="Ends"/>[i]); -1 for a token not wholly inside the text).
/// </summary>
public sealed record WindowText(string Text, int[] Starts, int[] Ends)
{
    /// <summary>Tokens of the window.</summary>
    public int Count => Starts.Length;
}

/// <summary>
/// Sequence alignment by byte offsets, for a student whose tokenizer is not its teacher's (as TRL's GOLD
/// aligns): the student's window is spelt as text, the teacher tokenizes that text its own way and says
/// which bytes each of its tokens covers, and a student token and a teacher token that cover exactly the
/// same bytes are matched. Their predictions condition on the same text before them and predict the same
/// text, so the student's distribution there can learn from the teacher's. Positions whose tokens cut the
/// text differently are not matched (cross-entropy alone teaches those).
/// </summary>
public static class ByteAlignment
{
    /// <summary>
    /// The text a window of byte-level token ids spells. A window cut out of a token stream may begin or end
    /// inside a character that byte tokens spell byte by byte: those bytes are dropped, and so are the
    /// tokens that hold them (span -1). A window whose bytes are not UTF-8 otherwise becomes the empty text.
    /// </summary>
    public static WindowText Spell(TokenizerVocabulary vocabulary, ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>(ids.Length * 4);
        var starts = new int[ids.Length];
        var ends = new int[ids.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            starts[i] = bytes.Count;
            bytes.AddRange(vocabulary.BytesOf(ids[i]));
            ends[i] = bytes.Count;
        }
        var all = bytes.ToArray();
        int first = 0, last = all.Length;
        while (first < last && IsContinuation(all[first])) first++;
        last = first + WholeCharacters(all.AsSpan(first, last - first));
        if (!Utf8.IsValid(all.AsSpan(first, last - first))) (first, last) = (0, 0);
        for (var i = 0; i < ids.Length; i++)
        {
            if (starts[i] >= first && ends[i] <= last) (starts[i], ends[i]) = (starts[i] - first, ends[i] - first);
            else (starts[i], ends[i]) = (-1, -1);
        }
        return new WindowText(Encoding.UTF8.GetString(all, first, last - first), starts, ends);
    }

    /// <summary>
    /// The positions where a student's window and the teacher's tokens of its text predict the same bytes:
    /// pairs (student row, teacher row), student row s - 1 predicting student token s and teacher row t - 1
    /// predicting teacher token t, for every s, t >= 1 whose tokens cover exactly the same (non-empty) bytes.
    /// Only the teacher's first <paramref name="teacherLength"/> tokens count (those it scored).
    /// </summary>
    public static List<(int Student, int Teacher)> Pairs(WindowText student, ReadOnlySpan<int> teacherStarts, ReadOnlySpan<int> teacherEnds, int teacherLength)
    {
        var teacherTokens = new Dictionary<(int, int), int>(teacherLength);
        for (var t = 1; t < teacherLength; t++)
            if (teacherEnds[t] > teacherStarts[t]) teacherTokens[(teacherStarts[t], teacherEnds[t])] = t;
        var pairs = new List<(int, int)>();
        for (var s = 1; s < student.Count; s++)
            if (student.Ends[s] > student.Starts[s] && teacherTokens.TryGetValue((student.Starts[s], student.Ends[s]), out var t))
                pairs.Add((s - 1, t - 1));
        return pairs;
    }

    private static bool IsContinuation(byte b) => (b & 0xC0) == 0x80;

    // The length of the prefix of bytes that ends on a whole character: a last character cut short is left out.
    private static int WholeCharacters(ReadOnlySpan<byte> bytes)
    {
        for (int back = 1; back <= Math.Min(4, bytes.Length); back++)
        {
            var b = bytes[^back];
            if (IsContinuation(b)) continue;
            int length = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return length > back ? bytes.Length - back : bytes.Length;
        }
        return bytes.Length;
    }
}
