namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// Soft targets of single examples, keyed by <see cref="SoftTargetKeys"/>. A value is the wire
/// bytes of one example's log-probabilities in the output dtype. An unavailable backend makes
/// the cache slower (all misses, writes skipped), never a failed call.
/// </summary>
public interface ISoftTargetCache
{
    /// <summary>One value per key, in order; null where the key is not cached.</summary>
    Task<byte[]?[]> GetManyAsync(IReadOnlyList<byte[]> keys, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="values"/>[i] under <paramref name="keys"/>[i].</summary>
    Task SetManyAsync(IReadOnlyList<byte[]> keys, IReadOnlyList<byte[]> values, CancellationToken cancellationToken);
}
