using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Batching;

/// <summary>One <see cref="SequenceBatcher"/> per loaded language-model version (see <see cref="VersionBatchers{TBatcher}"/>).</summary>
public sealed class SequenceBatcherPool(IOptions<BatchingOptions> options, TeacherMetrics metrics) : IDisposable
{
    private readonly VersionBatchers<SequenceBatcher> batchers = new(teacher => new SequenceBatcher(teacher, options.Value, metrics));

    /// <summary>Batchers running now: one per language-model version asked since it was loaded.</summary>
    public int Count => batchers.Count;

    /// <summary>The batcher of <paramref name="teacher"/> (this very version, a language model).</summary>
    public SequenceBatcher For(LoadedTeacher teacher) => batchers.For(teacher);

    public void Dispose() => batchers.Dispose();
}
