using System.Security.Cryptography;
using System.Text;

namespace TeacherStudent.Teacher.Generation;

/// <summary>
/// Cache keys of generated samples, one per (prompt, sample index): the fixed prefix, "gen:", then
/// the SHA-256 of everything that changes the text: teacher name and cache scope (checkpoint digest,
/// or an upstream's model, base URL and endpoint), the checked sampling settings, the sample index and the prompt.
/// </summary>
public sealed class GenerationKeys(string prefix)
{
    private readonly byte[] prefix = Encoding.UTF8.GetBytes(prefix + "gen:");

    /// <summary>The key of sample <paramref name="sampleIndex"/> of <paramref name="prompt"/>.</summary>
    public byte[] Compute(string teacher, string scope, GenerationSettings settings, string prompt, int sampleIndex)
    {
        using var buffer = new MemoryStream();
        // Length-prefixed strings and fixed-size numbers, so that no two requests serialise alike.
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(teacher);
            writer.Write(scope);
            writer.Write(settings.MaxNewTokens);
            writer.Write(settings.Temperature);
            writer.Write(settings.TopP);
            writer.Write(settings.Stop.Count);
            foreach (var stop in settings.Stop) writer.Write(stop);
            writer.Write(settings.Seed);
            writer.Write(sampleIndex);
            writer.Write(prompt);
        }
        var key = new byte[prefix.Length + SHA256.HashSizeInBytes];
        prefix.CopyTo(key, 0);
        SHA256.HashData(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), key.AsSpan(prefix.Length));
        return key;
    }
}
