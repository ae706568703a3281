using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// The shared cache: Redis, binary keys and values, one MGET per batch and one pipelined batch of
/// SETs with a TTL for the misses. When Redis is down every lookup is a miss and writes are
/// skipped; one warning is logged per outage, and the cache is used again as soon as the
/// multiplexer has reconnected by itself.
/// </summary>
public sealed class RedisSoftTargetCache(IConnectionMultiplexer redis, IOptions<CacheOptions> options, ILogger<RedisSoftTargetCache> logger)
    : ISoftTargetCache
{
    // After a failed command Redis is left alone this long, so that a Redis that hangs rather
    // than drops the connection costs one timeout per second, not one per batch.
    private const int PauseAfterFailureMs = 1000;

    private readonly TimeSpan ttl = TimeSpan.FromSeconds(options.Value.TtlSeconds);
    private int inOutage;
    private long pausedUntil;

    public async Task<byte[]?[]> GetManyAsync(IReadOnlyList<byte[]> keys, CancellationToken cancellationToken)
    {
        var values = new byte[]?[keys.Count];
        if (keys.Count == 0 || !WorthTrying()) return values;
        try
        {
            var redisKeys = new RedisKey[keys.Count];
            for (int i = 0; i < keys.Count; i++) redisKeys[i] = keys[i];
            var found = await redis.GetDatabase().StringGetAsync(redisKeys);
            for (int i = 0; i < found.Length; i++) values[i] = found[i].IsNull ? null : (byte[]?)found[i];
            Reachable();
        }
        catch (Exception e)
        {
            Unreachable(e);
        }
        return values;
    }

    public async Task SetManyAsync(IReadOnlyList<byte[]> keys, IReadOnlyList<byte[]> values, CancellationToken cancellationToken)
    {
        if (keys.Count == 0 || !WorthTrying()) return;
        try
        {
            var batch = redis.GetDatabase().CreateBatch();
            var writes = new Task[keys.Count];
            for (int i = 0; i < keys.Count; i++) writes[i] = batch.StringSetAsync(keys[i], values[i], ttl);
            batch.Execute();
            await Task.WhenAll(writes);
            Reachable();
        }
        catch (Exception e)
        {
            Unreachable(e);
        }
    }

    // While the multiplexer knows it has no connection (or just after a failure), Redis is
    // skipped at once rather than costing every batch a failed command.
    private bool WorthTrying()
    {
        if (Environment.TickCount64 < Volatile.Read(ref pausedUntil)) return false;
        if (redis.IsConnected) return true;
        if (Interlocked.Exchange(ref inOutage, 1) == 0) logger.RedisNotConnected();
        return false;
    }

    private void Unreachable(Exception e)
    {
        Volatile.Write(ref pausedUntil, Environment.TickCount64 + PauseAfterFailureMs);
        if (Interlocked.Exchange(ref inOutage, 1) == 0) logger.RedisFailed(e.GetType().Name, e.Message);
    }

    private void Reachable()
    {
        if (Interlocked.Exchange(ref inOutage, 0) == 1) logger.RedisBack();
    }
}
