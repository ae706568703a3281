using System.Collections.Concurrent;

namespace TeacherStudent.Testing;

/// <summary>
/// Tiny Hugging Face model directories (<see cref="HuggingFaceReference.WriteModel"/>), each written once and
/// copied for every test that changes or damages one: writing costs a Python start, copying a few hundred KB.
/// Use as an xunit class fixture; the directories are deleted with it.
/// </summary>
public sealed class TinyModels : IDisposable
{
    private readonly TemporaryDirectory directory = new("tiny-hf-models");
    private readonly ConcurrentDictionary<TinyModelOptions, Lazy<string>> written = new();
    private int count;

    /// <summary>The directory of the model <paramref name="options"/> describe, written on first use; do not change it.</summary>
    public string Original(TinyModelOptions options) =>
        written.GetOrAdd(options, o => new Lazy<string>(() =>
        {
            var path = directory.File($"model-{Interlocked.Increment(ref count)}");
            HuggingFaceReference.WriteModel(path, o);
            return path;
        })).Value;

    /// <summary>A copy of that model at <paramref name="target"/> (created), to change as a test likes.</summary>
    public string Copy(TinyModelOptions options, string target)
    {
        CopyDirectory(Original(options), target);
        return target;
    }

    /// <summary>Copies every file of <paramref name="source"/> into <paramref name="target"/>, which is created if missing.</summary>
    public static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
    }

    public void Dispose() => directory.Dispose();
}
