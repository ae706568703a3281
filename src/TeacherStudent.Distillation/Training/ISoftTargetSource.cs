namespace TeacherStudent.Distillation.Training;

/// <summary>
/// Where a student gets its teacher's soft targets from: a teacher service over gRPC, or a
/// model in the same process. Implementations live outside this library (it knows no gRPC).
/// </summary>
public interface ISoftTargetSource
{
    /// <summary>The teacher's name, current version and number of classes.</summary>
    Task<TeacherIdentity> DescribeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Log-probabilities at the source's temperature for <paramref name="count"/> examples whose
    /// pixels (bytes, [count, height, width]) are in <paramref name="pixels"/>.
    /// </summary>
    Task<SoftTargetBatch> GetAsync(ReadOnlyMemory<byte> pixels, int count, CancellationToken cancellationToken);
}

/// <summary>Who a teacher is: a name, the version of its weights, how many classes it scores.</summary>
public sealed record TeacherIdentity(string Name, string Version, int Classes);

/// <summary>Soft targets for one batch: row-major [Count, Classes] log-probabilities, and who computed them.</summary>
public sealed record SoftTargetBatch(float[] LogProbs, int Count, int Classes, string TeacherVersion);
