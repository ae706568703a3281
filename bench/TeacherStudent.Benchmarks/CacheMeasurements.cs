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
    /// <paramref name="repeats"/> passes that hit, <paramref name="rounds"/> times over the same
    /// examples each, every one beside a bare MGET of the stored keys in batches of the same size,
    /// as often. Returns examples per second of each pass.
    /// </summary>
    public async Task<(double Miss, List<double> Hit, List<double> Bare)> RunAsync(
        string address, int batchSize, int batches, int repeats, int rounds, CancellationToken cancellationToken)
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

        // One pass of each before the measured ones, so that neither side is timed while its code
        // is still being compiled; then each measured pass goes over the examples several times,
        // long enough (a few hundred ms) for the scheduler's noise to even out.
        await HitPassAsync(student, inputs, batchSize, t, rounds: 1, cancellationToken);
        await BarePassAsync(db, keyBatches, rounds: 1);
        var hit = new List<double>();
        var bare = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            clock.Restart();
            await HitPassAsync(student, inputs, batchSize, t, rounds, cancellationToken);
            hit.Add(rounds * batchSize * batches / clock.Elapsed.TotalSeconds);

            clock.Restart();
            await BarePassAsync(db, keyBatches, rounds);
            bare.Add(rounds * keys.Length / clock.Elapsed.TotalSeconds);
        }
        return (miss, hit, bare);
    }

    private static async Task HitPassAsync(BenchStudent student, ReadOnlyMemory<byte>[] inputs, int batchSize, float temperature, int rounds,
        CancellationToken cancellationToken)
    {
        for (int round = 0; round < rounds; round++)
        {
            var replies = await student.StreamAsync(inputs, batchSize, temperature, inFlight: 2, cancellationToken);
            if (replies.Sum(x => x.CacheHits) != batchSize * inputs.Length) throw new InvalidOperationException("the repeat should hit everywhere.");
        }
    }

    private static async Task BarePassAsync(IDatabase db, RedisKey[][] keyBatches, int rounds)
    {
        long bytes = 0;
        for (int round = 0; round < rounds; round++)
        {
            foreach (var chunk in keyBatches)
            {
                var values = await db.StringGetAsync(chunk);
                foreach (var v in values) bytes += ((byte[])v!).Length;
            }
        }
        if (bytes == 0) throw new InvalidOperationException("the bare multi-get read nothing.");
    }
}
