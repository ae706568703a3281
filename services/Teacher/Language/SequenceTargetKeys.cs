using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.Teacher.Language;

/// <summary>
/// Cache keys of language-model answers, one per sequence: the fixed prefix, "lm:", then the
/// SHA-256 of everything that changes the answer (teacher name and version, tokenizer digest,
/// compute dtype, temperature bits, k, sparse kind, seed, output dtype) and the sequence's token ids.
/// </summary>
public sealed class SequenceTargetKeys(string prefix)
{
    private readonly byte[] prefix = Encoding.UTF8.GetBytes(prefix + "lm:");

    /// <summary>
    /// One key per sequence of <paramref name="batch"/>; under another teacher <paramref name="name"/> and
    /// <paramref name="version"/> than the batch's (an ensemble's) when they are given.
    /// </summary>
    public byte[][] Compute(ValidatedSequenceBatch batch, string? name = null, string? version = null)
    {
        var settings = Settings(batch, name, version);
        var keys = new byte[batch.Sequences][];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int s = 0; s < keys.Length; s++)
        {
            hash.AppendData(settings);
            hash.AppendData(MemoryMarshal.AsBytes(batch.Sequence(s)));
            var key = new byte[prefix.Length + SHA256.HashSizeInBytes];
            prefix.CopyTo(key, 0);
            hash.GetHashAndReset(key.AsSpan(prefix.Length));
            keys[s] = key;
        }
        return keys;
    }

    // Length-prefixed strings and fixed-size numbers, so that no two settings serialise alike.
    private static byte[] Settings(ValidatedSequenceBatch batch, string? name, string? version)
    {
        using var buffer = new MemoryStream();
        using var writer = new BinaryWriter(buffer, Encoding.UTF8);
        var teacher = batch.Teacher;
        writer.Write(name ?? teacher.Name);
        writer.Write(version ?? teacher.Version);
        writer.Write(teacher.Language!.Tokenizer.Digest);
        // The same files computed in bfloat16 give other answers than in float32 (Teacher:DType).
        writer.Write(teacher.Language.Facts.ComputeDType);
        writer.Write(BitConverter.SingleToInt32Bits(batch.Settings.Temperature));
        writer.Write(batch.Settings.K);
        writer.Write((int)batch.Settings.Kind);
        writer.Write(batch.Settings.Seed);
        writer.Write((int)batch.OutputDType);
        writer.Write(batch.Length);
        writer.Flush();
        return buffer.ToArray();
    }
}
