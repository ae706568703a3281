namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// The answer to one batch: log-prob bytes, row-major [B, C] in the output dtype, how many of the
/// B came from the cache, and (for a batch sent as digests) the examples the cache did not hold,
/// whose rows are NaN.
/// </summary>
public sealed record SoftTargetResult(byte[] LogProbs, int CacheHits, IReadOnlyList<int> Missing)
{
    public SoftTargetResult(byte[] logProbs, int cacheHits) : this(logProbs, cacheHits, []) { }
}
