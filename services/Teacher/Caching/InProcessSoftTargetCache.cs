using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// The embedded default cache: a <see cref="MemoryCache"/> bounded to
/// <see cref="CacheOptions.InProcessCapacity"/> examples, each living for the configured TTL.
/// Gone when the process ends, and not shared with other teacher processes.
/// </summary>
public sealed class InProcessSoftTargetCache : ISoftTargetCache, IDisposable
{
    private readonly MemoryCache cache;
    private readonly MemoryCacheEntryOptions entryOptions;

    public InProcessSoftTargetCache(IOptions<CacheOptions> options)
    {
        var settings = options.Value;
        cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = settings.InProcessCapacity });
        entryOptions = new MemoryCacheEntryOptions
        {
            Size = 1,
            AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(settings.TtlSeconds),
        };
    }

    /// <summary>Number of entries held now.</summary>
    public long Count => cache.Count;

    public Task<byte[]?[]> GetManyAsync(IReadOnlyList<byte[]> keys, CancellationToken cancellationToken)
    {
        var values = new byte[]?[keys.Count];
        for (int i = 0; i < keys.Count; i++)
            values[i] = cache.TryGetValue(Text(keys[i]), out byte[]? value) ? value : null;
        return Task.FromResult(values);
    }

    public Task SetManyAsync(IReadOnlyList<byte[]> keys, IReadOnlyList<byte[]> values, CancellationToken cancellationToken)
    {
        for (int i = 0; i < keys.Count; i++) cache.Set(Text(keys[i]), values[i], entryOptions);
        return Task.CompletedTask;
    }

    // MemoryCache compares keys with Equals, which byte arrays do by reference.
    private static string Text(byte[] key) => Convert.ToBase64String(key);

    public void Dispose() => cache.Dispose();
}
