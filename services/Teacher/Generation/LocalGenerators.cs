using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Generation;

/// <summary>
/// One <see cref="GenerationBatcher"/> per language-model teacher version, made on first use; a
/// replaced version's batcher finishes what is queued and stops when that version is disposed.
/// </summary>
public sealed class LocalGenerators(IOptions<GenerationOptions> options, TeacherMetrics metrics) : IDisposable
{
    private readonly Dictionary<LoadedTeacher, GenerationBatcher> batchers = new(ReferenceEqualityComparer.Instance);
    private bool disposed;

    /// <summary>What Generate may ask of the language models held here.</summary>
    public GenerationLimits Limits { get; } =
        new(options.Value.MaxSamples, options.Value.DefaultMaxNewTokens, options.Value.MaxNewTokens);

    /// <summary>
    /// A generator for one call on <paramref name="teacher"/> (this very version), which must be a language model; samples
    /// still waiting for room a little before <paramref name="deadline"/> (UTC; <see cref="DateTime.MaxValue"/> for none) are refused.
    /// </summary>
    public LocalTextGenerator For(LoadedTeacher teacher, DateTime deadline)
    {
        GenerationBatcher batcher;
        lock (batchers)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (batchers.TryGetValue(teacher, out var existing)) return new LocalTextGenerator(teacher, existing, deadline);
            batcher = new GenerationBatcher(teacher, options.Value, metrics);
            batchers.Add(teacher, batcher);
        }
        // Runs at once when the version is already retired, which stops the batcher just made.
        teacher.Retired.Register(() => Retire(teacher));
        return new LocalTextGenerator(teacher, batcher, deadline);
    }

    private void Retire(LoadedTeacher teacher)
    {
        GenerationBatcher? batcher;
        lock (batchers)
        {
            if (!batchers.Remove(teacher, out batcher)) return;
        }
        batcher.Stop();
    }

    public void Dispose()
    {
        GenerationBatcher[] all;
        lock (batchers)
        {
            disposed = true;
            all = [.. batchers.Values];
            batchers.Clear();
        }
        foreach (var batcher in all) batcher.Dispose();
    }
}
