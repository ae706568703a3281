using System.Text;

namespace TeacherStudent.Teacher;

/// <summary>
/// Caller input as it is shown back, in an error message or a log line: at most
/// <see cref="MaxChars"/> characters of it, followed by its full length when it was cut, with
/// control characters escaped. A 10,000-character teacher name, or one holding line breaks,
/// then costs neither the caller's message nor the log its shape.
/// </summary>
public static class EchoedText
{
    /// <summary>Most characters of the input shown.</summary>
    public const int MaxChars = 64;

    /// <summary><paramref name="text"/> as it may be echoed: unchanged when it is short and printable.</summary>
    public static string Of(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var cut = text.Length > MaxChars;
        // Never half a surrogate pair: a lone one is not text.
        var shown = cut ? text.AsSpan(0, char.IsHighSurrogate(text[MaxChars - 1]) ? MaxChars - 1 : MaxChars) : text.AsSpan();
        if (!cut && !HasControl(shown)) return text;
        var builder = new StringBuilder(shown.Length + 24);
        foreach (var c in shown)
        {
            if (char.IsControl(c)) builder.Append($"\\u{(int)c:x4}");
            else builder.Append(c);
        }
        if (cut) builder.Append($"…({text.Length} chars)");
        return builder.ToString();
    }

    private static bool HasControl(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
            if (char.IsControl(c)) return true;
        return false;
    }
}
