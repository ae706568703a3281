using System.Runtime.InteropServices;
using System.Text.Json;
using TeacherStudent.Distillation.Models;

namespace TeacherStudent.Distillation.Training;

/// <summary>
/// Soft targets for a whole dataset, kept by an offline student: in memory, and in a file named
/// by teacher version and settings, so that later epochs, restarts and re-runs need neither the
/// teacher nor its cache. The file is a JSON header line followed by float32 log-probabilities,
/// [count, classes], little-endian.
/// </summary>
public sealed class TargetStore
{
    public TargetStore(TargetStoreKey key, float[] logProbs, int count)
    {
        if (logProbs.Length != count * key.Classes)
            throw new ArgumentException($"{count} examples of {key.Classes} classes need {count * key.Classes} values, not {logProbs.Length}.");
        Key = key;
        LogProbs = logProbs;
        Count = count;
    }

    public TargetStoreKey Key { get; }
    public float[] LogProbs { get; }
    public int Count { get; }

    /// <summary>The targets of example <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Row(int index) => LogProbs.AsSpan(index * Key.Classes, Key.Classes);

    /// <summary>Fetches targets for every example of <paramref name="pixels"/> through <paramref name="source"/>, in chunks.</summary>
    public static async Task<TargetStore> FetchAsync(
        ISoftTargetSource source, TargetStoreKey key, byte[] pixels, int exampleSize, int chunk,
        IProgress<(int Done, int Total)>? progress, CancellationToken cancellationToken)
    {
        int count = pixels.Length / exampleSize;
        var all = new float[count * key.Classes];
        for (int start = 0; start < count; start += chunk)
        {
            int n = Math.Min(chunk, count - start);
            var batch = await source.GetAsync(pixels.AsMemory(start * exampleSize, n * exampleSize), n, cancellationToken);
            if (batch.TeacherVersion != key.TeacherVersion)
                throw new TeacherChangedException(
                    $"teacher {key.Teacher} changed from version {key.TeacherVersion} to {batch.TeacherVersion} while its targets were fetched; run again to fetch them from the new version.");
            batch.LogProbs.CopyTo(all.AsSpan(start * key.Classes));
            progress?.Report((start + n, count));
        }
        return new TargetStore(key, all, count);
    }

    /// <summary>The file name for these targets inside a directory.</summary>
    public static string PathFor(string directory, TargetStoreKey key) =>
        Path.Combine(directory, $"{key.Dataset}.{key.Teacher}.{key.TeacherVersion}.T{key.Temperature:0.###}.targets");

    /// <summary>
    /// The most recently written store in <paramref name="directory"/> for these inputs and temperature,
    /// whichever teacher version computed it; null when there is none.
    /// </summary>
    public static TargetStore? FindNewest(string directory, string dataset, double temperature)
    {
        if (!Directory.Exists(directory)) return null;
        foreach (var file in new DirectoryInfo(directory).GetFiles($"{dataset}.*.targets").OrderByDescending(f => f.LastWriteTimeUtc))
        {
            using var reader = new BinaryReader(file.OpenRead());
            var header = JsonSerializer.Deserialize<Header>(reader.ReadString());
            if (header is null || header.Key.Dataset != dataset || header.Key.Temperature != temperature) continue;
            reader.Close();
            return TryLoad(file.FullName, header.Key);
        }
        return null;
    }

    /// <summary>Writes the store atomically.</summary>
    public void Save(string path) => Checkpoint.WriteAtomically(path, writer =>
    {
        writer.Write(JsonSerializer.Serialize(new Header(Key, Count)));
        writer.Write(MemoryMarshal.AsBytes(LogProbs.AsSpan()));
    });

    /// <summary>Reads a store written by <see cref="Save"/>, or returns null when there is none that matches <paramref name="key"/>.</summary>
    public static TargetStore? TryLoad(string path, TargetStoreKey key)
    {
        if (!File.Exists(path)) return null;
        using var reader = new BinaryReader(File.OpenRead(path));
        var header = JsonSerializer.Deserialize<Header>(reader.ReadString());
        if (header is null || header.Key != key) return null;
        var values = new float[header.Count * key.Classes];
        reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
        return new TargetStore(key, values, header.Count);
    }

    private sealed record Header(TargetStoreKey Key, int Count);
}

/// <summary>What a set of stored targets was computed from; a store is only reused when all of it matches.</summary>
/// <param name="Dataset">Which inputs, with a digest of their bytes (e.g. fashion-mnist-train-3f2a...).</param>
public sealed record TargetStoreKey(string Dataset, string Teacher, string TeacherVersion, double Temperature, int Classes);

/// <summary>The teacher's version changed under a run that needs one version throughout.</summary>
public sealed class TeacherChangedException(string message) : Exception(message);
