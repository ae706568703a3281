using System.Globalization;
using System.Text.RegularExpressions;

namespace TeacherStudent.StudentTrainer.TeacherClient;

/// <summary>
/// One teacher named by <see cref="TeacherClientOptions.Teacher"/>: a name alone (asked at
/// <see cref="TeacherClientOptions.Address"/>), or <c>NAME@ADDRESS[:WEIGHT]</c>, a teacher of an
/// ensemble with its own service and its weight (1 when not given). ADDRESS is any form
/// <see cref="TeacherChannel"/> takes; a weight is a last colon-separated field after its port, so
/// <c>big@http://10.0.0.5:5005:2</c> weighs 2 and <c>big@http://10.0.0.5:5005</c> 1.
/// </summary>
public sealed partial record TeacherChoice(string Name, string? Address, double Weight)
{
    /// <summary>The teachers <paramref name="text"/> names, separated by spaces (a repeated <c>--teacher</c>).</summary>
    /// <exception cref="ArgumentException">a teacher is written in none of the forms; the message says which one and why.</exception>
    public static IReadOnlyList<TeacherChoice> ParseAll(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new ArgumentException("Teacher:Teacher is empty: name the teacher to ask (see Describe).");
        var choices = parts.Select(Parse).ToArray();
        if (choices.Length > 1 && choices.FirstOrDefault(c => c.Address is null) is { } bare)
            throw new ArgumentException(
                $"Teacher:Teacher names several teachers, so each is written NAME@ADDRESS[:WEIGHT]; '{bare.Name}' has no address.");
        var twice = choices.GroupBy(c => (c.Name, c.Address)).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
            throw new ArgumentException($"Teacher:Teacher names teacher '{twice.Key.Name}' at {twice.Key.Address} twice; give it once, with the weight it should have.");
        return choices;
    }

    /// <summary>One teacher: <c>NAME</c> or <c>NAME@ADDRESS[:WEIGHT]</c>.</summary>
    public static TeacherChoice Parse(string text)
    {
        int at = text.IndexOf('@');
        if (at < 0) return new TeacherChoice(text, null, 1);
        var name = text[..at];
        var rest = text[(at + 1)..];
        if (name.Length == 0) throw new ArgumentException($"teacher '{text}' has no name before the '@': write NAME@ADDRESS[:WEIGHT].");
        double weight = 1;
        var address = rest;
        if (Weighted().Match(rest) is { Success: true } m)
        {
            address = m.Groups["address"].Value;
            var written = m.Groups["weight"].Value;
            if (!double.TryParse(written, NumberStyles.Float, CultureInfo.InvariantCulture, out weight) || !(weight > 0) || double.IsInfinity(weight))
                throw new ArgumentException($"teacher '{name}' has the weight '{written}', which is not a positive number.");
        }
        try
        {
            TeacherChannel.Parse(address);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"teacher '{name}': {e.Message}", e);
        }
        return new TeacherChoice(name, address, weight);
    }

    // The shortest ADDRESS ending in :PORT, then :WEIGHT and the end: "http://h:5005:2" is http://h:5005
    // weighing 2, and "http://a:1,http://b:2:3" the list of two weighing 3.
    [GeneratedRegex(@"^(?<address>.+?:\d+):(?<weight>[^:/\]]+)$")]
    private static partial Regex Weighted();
}
