using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TeacherStudent.Distillation.Models;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// What a file of offline targets was fetched for: the tokenizer, the targets asked for (shape,
/// temperature, seed), the windows (how many, how long, drawn from which seed) and a digest of the
/// train stream they were drawn from. A file whose key differs is not used.
/// </summary>
public sealed record OfflineTargetsKey(string TokenizerDigest, SequenceTargetSettings Targets, int Windows, int WindowLength, int Seed, string TrainDigest)
{
    /// <summary>First 16 hex digits of the SHA-256 of a stream's token ids (little-endian int32).</summary>
    public static string Digest(TokenStream stream) =>
        Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(stream.Tokens)))[..16];
}

/// <summary>
/// An offline run's windows and targets on disk, in its run directory: a magic line, the key as
/// JSON, the windows, then every teacher answer (version, shape, log-probabilities, ids, tail) as
/// little-endian arrays. Written atomically once the fetch is done; read back by a run that
/// resumes, which then needs no teacher.
/// </summary>
public static class OfflineTargetsFile
{
    public const string FileName = "offline-targets.bin";

    private const string Magic = "TeacherStudent offline targets v1\n";

    /// <summary>Writes <paramref name="targets"/> fetched for <paramref name="key"/> to <paramref name="path"/>, atomically.</summary>
    public static void Save(string path, OfflineTargetsKey key, OfflineTargets targets) =>
        Checkpoint.WriteAtomically(path, writer =>
        {
            writer.Write(Encoding.ASCII.GetBytes(Magic));
            writer.Write(JsonSerializer.Serialize(key));
            writer.Write(targets.Count);
            writer.Write(targets.WindowLength);
            WriteArray<int>(writer, targets.Windows);
            writer.Write(targets.Chunks.Count);
            foreach (var chunk in targets.Chunks)
            {
                writer.Write(chunk.TeacherVersion);
                writer.Write(chunk.Sequences);
                writer.Write(chunk.Length);
                writer.Write(chunk.VocabularySize);
                WriteArray<float>(writer, chunk.LogProbs);
                WriteArray<int>(writer, chunk.Ids);
                WriteArray<float>(writer, chunk.TailLogMass);
            }
        });

    /// <summary>The targets stored at <paramref name="path"/> for <paramref name="key"/>; null when there is no such file or it was fetched for another key.</summary>
    /// <exception cref="InvalidDataException">the file is not readable offline targets.</exception>
    public static OfflineTargets? TryLoad(string path, OfflineTargetsKey key)
    {
        if (!File.Exists(path)) return null;
        using var reader = new BinaryReader(File.OpenRead(path));
        try
        {
            if (Encoding.ASCII.GetString(reader.ReadBytes(Magic.Length)) != Magic) throw new InvalidDataException("it does not start with the offline-targets header.");
            if (JsonSerializer.Deserialize<OfflineTargetsKey>(reader.ReadString()) != key) return null;
            int count = reader.ReadInt32(), windowLength = reader.ReadInt32();
            var windows = ReadArray<int>(reader) ?? throw new InvalidDataException("it holds no windows.");
            var chunks = new SequenceTargetBatch[reader.ReadInt32()];
            for (int c = 0; c < chunks.Length; c++)
            {
                var version = reader.ReadString();
                int sequences = reader.ReadInt32(), length = reader.ReadInt32(), vocabulary = reader.ReadInt32();
                var logProbs = ReadArray<float>(reader) ?? throw new InvalidDataException($"answer {c} holds no log-probabilities.");
                chunks[c] = new SequenceTargetBatch(sequences, length, vocabulary, key.Targets, logProbs, ReadArray<int>(reader), ReadArray<float>(reader), version);
            }
            return new OfflineTargets(windows, count, windowLength, chunks);
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException)
        {
            throw new InvalidDataException($"{path} is not readable offline targets: {e.Message}", e);
        }
    }

    /// <summary>Length (-1 for null), then the values.</summary>
    private static void WriteArray<T>(BinaryWriter writer, T[]? values) where T : unmanaged
    {
        writer.Write(values?.Length ?? -1);
        if (values is not null) writer.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static T[]? ReadArray<T>(BinaryReader reader) where T : unmanaged
    {
        int length = reader.ReadInt32();
        if (length < 0) return null;
        var values = new T[length];
        var bytes = MemoryMarshal.AsBytes(values.AsSpan());
        reader.BaseStream.ReadExactly(bytes);
        return values;
    }
}
