using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace TeacherStudent.Distillation.Text;

/// <summary>The three parts a text corpus is divided into.</summary>
public enum CorpusSplit
{
    /// <summary>What models (and the tokenizer) learn from: about 90% of the entries.</summary>
    Train,

    /// <summary>For choosing settings and early stopping: about 5%.</summary>
    Validation,

    /// <summary>Held out for the final report: about 5%.</summary>
    Test,
}

/// <summary>
/// Which split an entry belongs to, decided by its text alone: the SHA-256 of its UTF-8
/// bytes, first 8 bytes read big-endian, modulo 100; below 90 is train, below 95 validation,
/// the rest test. So the split is the same on every machine, whatever order files are read
/// in, and two copies of one entry always land in the same split.
/// </summary>
public static class StableSplit
{
    /// <summary>Percent of entries in the train split.</summary>
    public const int TrainPercent = 90;

    /// <summary>Percent of entries in the validation split; the test split has the rest.</summary>
    public const int ValidationPercent = 5;

    /// <summary>The split <paramref name="entry"/> belongs to.</summary>
    public static CorpusSplit Of(string entry)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(entry), hash);
        var bucket = BinaryPrimitives.ReadUInt64BigEndian(hash) % 100;
        return bucket switch
        {
            < TrainPercent => CorpusSplit.Train,
            < TrainPercent + ValidationPercent => CorpusSplit.Validation,
            _ => CorpusSplit.Test,
        };
    }
}
