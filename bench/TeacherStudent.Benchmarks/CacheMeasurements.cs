using System.Diagnostics;
using StackExchange.Redis;

namespace TeacherStudent.Benchmarks;

/// <summary>
/// The cache's hit path beside its miss path and beside a bare StackExchange.Redis multi-get of
/// the very keys and values the service stored.
/// </summary>
public sealed class CacheMeasurements(Measurements measurements, string redisConnection, string keyPrefix)
{
    /// <summary>
    /// One pass of <paramref name="batches"/> batches that misses (and fills Redis), then
    /// <paramref name="repeats"/> passes over the same examples that hit, each beside a bare MGET of
    /// the stored keys in batches of the same size. Returns examples per second of each pass.
    /// </summary>
    public async Task<(double Miss, List<double> Hit, List<double> Bare)> RunAsync(
        string address, int batchSize, int batches, int repeats, CancellationToken cancellationToken)
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(redisConnection + ",allowAdmin=true");
        var server = redis.GetServers().Single();
        await server.FlushDatabaseAsync();
        var db = redis.GetDatabase();

        await using var student = new BenchStudent(address);
        var inputs = Enumerable.Range(0, batches).Select(b => measurements.Pixels(b * batchSize, batchSize)).ToArray();
        float t = measurements.FreshTemperature();

        var clock = Stopwatch.StartNew();
        var first = await student.StreamAsync(inputs, batchSize, t, inFlight: 2, cancellationToken);
        double miss = batchSize * batches / clock.Elapsed.TotalSeconds;
        if (first.Sum(r => r.CacheHits) != 0) throw new InvalidOperationException("the first pass should miss everywhere.");

        var keys = server.Keys(pattern: keyPrefix + "*", pageSize: 1000).ToArray();
        if (keys.Length != batchSize * batches)
            throw new InvalidOperationException($"Redis holds {keys.Length} soft targets after {batchSize * batches} distinct examples.");
        var keyBatches = keys.Chunk(batchSize).ToArray();

        var hit = new List<double>();
        var bare = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            clock.Restart();
            var again = await student.StreamAsync(inputs, batchSize, t, inFlight: 2, cancellationToken);
            hit.Add(batchSize * batches / clock.Elapsed.TotalSeconds);
            if (again.Sum(x => x.CacheHits) != batchSize * batches) throw new InvalidOperationException("the repeat should hit everywhere.");

            clock.Restart();
            long bytes = 0;
            foreach (var chunk in keyBatches)
            {
                var values = await db.StringGetAsync(chunk);
                foreach (var v in values) bytes += ((byte[])v!).Length;
            }
            bare.Add(keys.Length / clock.Elapsed.TotalSeconds);
            if (bytes == 0) throw new InvalidOperationException("the bare multi-get read nothing.");
        }
        return (miss, hit, bare);
    }
}
