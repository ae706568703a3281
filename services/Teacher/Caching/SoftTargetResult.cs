namespace TeacherStudent.Teacher.Caching;

/// <summary>The answer to one batch: log-prob bytes, row-major [B, C] in the output dtype, and how many of the B came from the cache.</summary>
public sealed record SoftTargetResult(byte[] LogProbs, int CacheHits);
