using System.Security.Cryptography;
using System.Text;
using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// Cache keys, one per example: the fixed prefix followed by the SHA-256 of everything that
/// changes the answer (teacher name and version, temperature bits, output dtype, input dtype,
/// example shape) and the example's input bytes. A new teacher version therefore never reads an
/// old version's entries.
/// </summary>
public sealed class SoftTargetKeys(string prefix)
{
    private const int DigestSize = 32;
    private readonly byte[] prefix = Encoding.UTF8.GetBytes(prefix);

    /// <summary>One key per example of <paramref name="inputs"/> (shape [B, ...]).</summary>
    public byte[][] Compute(string teacher, string version, float temperature, WireDType outputDType, WireTensor inputs)
    {
        var count = checked((int)inputs.Shape[0]);
        var keys = new byte[count][];
        if (count == 0) return keys;
        var settings = Settings(teacher, version, temperature, outputDType, inputs);
        var exampleBytes = inputs.Data.Length / count;
        var data = inputs.Data.Span;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int i = 0; i < count; i++)
        {
            hash.AppendData(settings);
            hash.AppendData(data.Slice(i * exampleBytes, exampleBytes));
            var key = new byte[prefix.Length + DigestSize];
            prefix.CopyTo(key, 0);
            hash.GetHashAndReset(key.AsSpan(prefix.Length));
            keys[i] = key;
        }
        return keys;
    }

    // Length-prefixed strings and fixed-size numbers, so that no two settings serialise alike.
    private static byte[] Settings(string teacher, string version, float temperature, WireDType outputDType, WireTensor inputs)
    {
        using var buffer = new MemoryStream();
        using var writer = new BinaryWriter(buffer, Encoding.UTF8);
        writer.Write(teacher);
        writer.Write(version);
        writer.Write(BitConverter.SingleToInt32Bits(temperature));
        writer.Write((int)outputDType);
        writer.Write((int)inputs.DType);
        writer.Write(inputs.Shape.Length - 1);
        foreach (var dimension in inputs.Shape.Skip(1)) writer.Write(dimension);
        writer.Flush();
        return buffer.ToArray();
    }
}
