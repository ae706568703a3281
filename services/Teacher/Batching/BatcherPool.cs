using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Batching;

/// <summary>One <see cref="DynamicBatcher"/> per loaded classifier version (see <see cref="VersionBatchers{TBatcher}"/>).</summary>
public sealed class BatcherPool(IOptions<BatchingOptions> options, TeacherMetrics metrics) : IDisposable
{
    private readonly VersionBatchers<DynamicBatcher> batchers =
        new(teacher => new DynamicBatcher(teacher, options.Value, metrics, TorchThreads.Total));

    /// <summary>Batchers running now: one per teacher version that has been asked since it was loaded.</summary>
    public int Count => batchers.Count;

    /// <summary>The batcher of <paramref name="teacher"/> (this very version).</summary>
    public DynamicBatcher For(LoadedTeacher teacher) => batchers.For(teacher);

    public void Dispose() => batchers.Dispose();
}
