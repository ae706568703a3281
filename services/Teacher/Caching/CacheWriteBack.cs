namespace TeacherStudent.Teacher.Caching;

/// <summary>Writing computed answers to the cache, where a failure costs a later recomputation, not the batch.</summary>
public static class CacheWriteBack
{
    /// <summary>Stores the values; a failure other than cancellation is logged, not thrown.</summary>
    public static async Task SetManyOrLogAsync(this ISoftTargetCache cache, IReadOnlyList<byte[]> keys, IReadOnlyList<byte[]> values,
        ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            await cache.SetManyAsync(keys, values, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.CacheWriteFailed(e.GetType().Name, e.Message);
        }
    }
}
