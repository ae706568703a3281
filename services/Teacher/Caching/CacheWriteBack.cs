using TeacherStudent.Distillation.Wire;

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

    /// <summary>
    /// Stores the soft-target rows whose values (from byte <paramref name="valuesStart"/> of each
    /// row on, in <paramref name="dtype"/>) are all finite, and logs how many were not. A row of NaN
    /// or infinity is never cached, whatever produced it: every later request for it would get it
    /// too, without the model being asked again.
    /// </summary>
    public static Task SetFiniteOrLogAsync(this ISoftTargetCache cache, IReadOnlyList<byte[]> keys, IReadOnlyList<byte[]> rows,
        WireDType dtype, int valuesStart, string teacher, ILogger logger, CancellationToken cancellationToken)
    {
        var finite = new List<int>(rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            if (FiniteValues.All(rows[i].AsSpan(valuesStart), dtype)) finite.Add(i);
        }
        if (finite.Count == rows.Count) return cache.SetManyOrLogAsync(keys, rows, logger, cancellationToken);
        logger.NonFiniteRowsNotCached(teacher, rows.Count - finite.Count, rows.Count);
        return cache.SetManyOrLogAsync(finite.ConvertAll(i => keys[i]), finite.ConvertAll(i => rows[i]), logger, cancellationToken);
    }
}
