using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Batching;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Generation;

/// <summary>
/// One <see cref="GenerationBatcher"/> per language-model teacher version, made on first use; a
/// replaced version's batcher finishes what is queued and stops when that version is disposed
/// (<see cref="VersionBatchers{TBatcher}"/>).
/// </summary>
public sealed class LocalGenerators(IOptions<GenerationOptions> options, TeacherMetrics metrics) : IDisposable
{
    private readonly VersionBatchers<GenerationBatcher> batchers = new(teacher => new GenerationBatcher(teacher, options.Value, metrics));

    /// <summary>What Generate may ask of the language models held here.</summary>
    public GenerationLimits Limits { get; } =
        new(options.Value.MaxSamples, options.Value.DefaultMaxNewTokens, options.Value.MaxNewTokens);

    /// <summary>
    /// A generator for one call on <paramref name="teacher"/> (this very version), which must be a language model; samples
    /// still waiting for room a little before <paramref name="deadline"/> (UTC; <see cref="DateTime.MaxValue"/> for none) are refused.
    /// </summary>
    public LocalTextGenerator For(LoadedTeacher teacher, DateTime deadline) => new(teacher, batchers.For(teacher), deadline);

    public void Dispose() => batchers.Dispose();
}
