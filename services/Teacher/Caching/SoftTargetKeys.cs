using System.Security.Cryptography;
using System.Text;
using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// Cache keys, one per example: the fixed prefix, the SHA-256 of everything that changes the
/// answer besides the example (teacher name and version, temperature bits, output dtype, input
/// dtype, example shape), and the example's own SHA-256 (<see cref="ExampleDigests"/>). A new
/// teacher version therefore never reads an old version's entries, and a student that sends an
/// example's digest instead of its bytes reaches the same entry as the bytes do.
/// </summary>
public sealed class SoftTargetKeys(string prefix)
{
    private const int SettingsSize = 32;
    private readonly byte[] prefix = Encoding.UTF8.GetBytes(prefix);

    /// <summary>Bytes of every key.</summary>
    public int KeySize => prefix.Length + SettingsSize + ExampleDigests.Size;

    /// <summary>One key per example of <paramref name="inputs"/> (shape [B, ...]).</summary>
    public byte[][] Compute(string teacher, string version, float temperature, WireDType outputDType, WireTensor inputs)
    {
        var count = checked((int)inputs.Shape[0]);
        return FromDigests(teacher, version, temperature, outputDType, inputs.DType, inputs.Shape, ExampleDigests.Compute(inputs.Data, count));
    }

    /// <summary>
    /// One key per example from the examples' digests (<see cref="ExampleDigests.Size"/> bytes each,
    /// back to back) and the batch's input dtype and shape [B, ...].
    /// </summary>
    public byte[][] FromDigests(string teacher, string version, float temperature, WireDType outputDType, WireDType inputDType, long[] shape,
        ReadOnlySpan<byte> digests)
    {
        var count = digests.Length / ExampleDigests.Size;
        var keys = new byte[count][];
        if (count == 0) return keys;
        Span<byte> settings = stackalloc byte[SettingsSize];
        SHA256.HashData(Settings(teacher, version, temperature, outputDType, inputDType, shape), settings);
        for (int i = 0; i < count; i++)
        {
            var key = new byte[KeySize];
            prefix.CopyTo(key, 0);
            settings.CopyTo(key.AsSpan(prefix.Length));
            digests.Slice(i * ExampleDigests.Size, ExampleDigests.Size).CopyTo(key.AsSpan(prefix.Length + SettingsSize));
            keys[i] = key;
        }
        return keys;
    }

    // Length-prefixed strings and fixed-size numbers, so that no two settings serialise alike.
    private static byte[] Settings(string teacher, string version, float temperature, WireDType outputDType, WireDType inputDType, long[] shape)
    {
        using var buffer = new MemoryStream();
        using var writer = new BinaryWriter(buffer, Encoding.UTF8);
        writer.Write(teacher);
        writer.Write(version);
        writer.Write(BitConverter.SingleToInt32Bits(temperature));
        writer.Write((int)outputDType);
        writer.Write((int)inputDType);
        writer.Write(shape.Length - 1);
        foreach (var dimension in shape.Skip(1)) writer.Write(dimension);
        writer.Flush();
        return buffer.ToArray();
    }
}
