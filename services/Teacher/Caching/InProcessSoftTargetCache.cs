using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// The embedded default cache: a <see cref="MemoryCache"/> bounded to <see cref="CacheOptions.InProcessMegabytes"/>
/// of keys and values and to <see cref="CacheOptions.InProcessCapacity"/> examples, each living for the configured
/// TTL. Gone when the process ends, and not shared with other teacher processes.
/// </summary>
public sealed class InProcessSoftTargetCache : ISoftTargetCache, IDisposable
{
    // What an entry costs beyond its key's and value's bytes (the entry object, the string's header, the array's).
    private const int EntryOverhead = 160;

    private readonly MemoryCache cache;
    private readonly TimeSpan ttl;
    private readonly int capacity;

    public InProcessSoftTargetCache(IOptions<CacheOptions> options)
    {
        var settings = options.Value;
        // Sizes are bytes: an entry that would take the cache past its limit is not kept, and a compaction in the
        // background makes room (least recently used first).
        cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = (long)settings.InProcessMegabytes << 20 });
        ttl = TimeSpan.FromSeconds(settings.TtlSeconds);
        capacity = settings.InProcessCapacity;
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
        for (int i = 0; i < keys.Count; i++)
        {
            var key = Text(keys[i]);
            cache.Set(key, values[i], new MemoryCacheEntryOptions { Size = values[i].Length + 2L * key.Length + EntryOverhead, AbsoluteExpirationRelativeToNow = ttl });
        }
        // The entry bound, compacted at once: the least recently used go first.
        if (cache.Count > capacity) cache.Compact(Math.Min(1.0, (cache.Count - capacity) / (double)cache.Count + 0.05));
        return Task.CompletedTask;
    }

    // MemoryCache compares keys with Equals, which byte arrays do by reference.
    private static string Text(byte[] key) => Convert.ToBase64String(key);

    public void Dispose() => cache.Dispose();
}
