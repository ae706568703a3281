using System.Diagnostics;
using StackExchange.Redis;
using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.Benchmarks;

/// <summary>
/// The cache's hit path beside its miss path and beside a bare StackExchange.Redis multi-get of
/// the very keys and values the service stored; and, when a second service is given, the same hit
/// path through a service that keeps a MAC over every value (Cache:KeySecret), in the same passes.
/// </summary>
public sealed class CacheMeasurements(Measurements measurements, string redisConnection, string keyPrefix)
{
    /// <summary>
    /// One pass of <paramref name="batches"/> batches that misses (and fills Redis), then
    /// <paramref name="repeats"/> passes that hit, <paramref name="rounds"/> times over the same
    /// examples each: the examples sent as pixels, as digests hashed by the student in the pass,
    /// and as digests it already holds, then a bare MGET of the stored keys in batches of the same
    /// size, as often. Returns examples per second of each pass.
    /// </summary>
    public async Task<CacheRates> RunAsync(
        string address, int batchSize, int batches, int repeats, int rounds, CancellationToken cancellationToken, string? macAddress = null)
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
        // The MAC service (its own key prefix) fills its entries with one missing pass of its own.
        await using var macStudent = macAddress is null ? null : new BenchStudent(macAddress);
        if (macStudent is not null && (await macStudent.StreamAsync(inputs, batchSize, t, inFlight: 2, cancellationToken)).Sum(r => r.CacheHits) != 0)
            throw new InvalidOperationException("the MAC service's first pass should miss everywhere.");

        // One pass of each before the measured ones, so that neither side is timed while its code
        // is still being compiled; then each measured pass goes over the examples several times,
        // long enough (a few hundred ms) for the scheduler's noise to even out.
        var digests = inputs.Select(batch => (ReadOnlyMemory<byte>)ExampleDigests.Compute(batch, batchSize)).ToArray();
        var sent = new Dictionary<SendAs, ReadOnlyMemory<byte>[]> { [SendAs.Pixels] = inputs, [SendAs.Digests] = inputs, [SendAs.KnownDigests] = digests };
        foreach (var (sendAs, batchesSent) in sent) await HitPassAsync(student, batchesSent, batchSize, t, rounds: 1, sendAs, cancellationToken);
        if (macStudent is not null) await HitPassAsync(macStudent, digests, batchSize, t, rounds: 1, SendAs.KnownDigests, cancellationToken);
        await BarePassAsync(db, keyBatches, rounds: 1);
        var hit = sent.Keys.ToDictionary(s => s, _ => new List<double>());
        var mac = new List<double>();
        var bare = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            foreach (var (sendAs, batchesSent) in sent)
            {
                clock.Restart();
                await HitPassAsync(student, batchesSent, batchSize, t, rounds, sendAs, cancellationToken);
                hit[sendAs].Add(rounds * batchSize * batches / clock.Elapsed.TotalSeconds);
            }
            if (macStudent is not null)
            {
                clock.Restart();
                await HitPassAsync(macStudent, digests, batchSize, t, rounds, SendAs.KnownDigests, cancellationToken);
                mac.Add(rounds * batchSize * batches / clock.Elapsed.TotalSeconds);
            }

            clock.Restart();
            await BarePassAsync(db, keyBatches, rounds);
            bare.Add(rounds * keys.Length / clock.Elapsed.TotalSeconds);
        }
        return new CacheRates(miss, hit[SendAs.Pixels], hit[SendAs.Digests], hit[SendAs.KnownDigests], bare, mac);
    }

    private static async Task HitPassAsync(BenchStudent student, ReadOnlyMemory<byte>[] inputs, int batchSize, float temperature, int rounds,
        SendAs sendAs, CancellationToken cancellationToken)
    {
        for (int round = 0; round < rounds; round++)
        {
            var replies = await student.StreamAsync(inputs, batchSize, temperature, inFlight: 2, cancellationToken, sendAs);
            if (replies.Sum(x => x.CacheHits) != batchSize * inputs.Length || replies.Any(x => x.Missing.Count > 0))
                throw new InvalidOperationException("the repeat should hit everywhere.");
        }
    }

    // MGETs of the stored keys, two in flight as the student keeps two batches in flight.
    private static async Task BarePassAsync(IDatabase db, RedisKey[][] keyBatches, int rounds)
    {
        long bytes = 0;
        var pending = new Queue<Task<RedisValue[]>>();
        for (int round = 0; round < rounds; round++)
        {
            foreach (var chunk in keyBatches)
            {
                if (pending.Count == 2) bytes += Sum(await pending.Dequeue());
                pending.Enqueue(db.StringGetAsync(chunk));
            }
        }
        while (pending.Count > 0) bytes += Sum(await pending.Dequeue());
        if (bytes == 0) throw new InvalidOperationException("the bare multi-get read nothing.");
    }

    private static long Sum(RedisValue[] values)
    {
        long bytes = 0;
        foreach (var v in values) bytes += ((byte[])v!).Length;
        return bytes;
    }
}

/// <summary>Examples per second: the pass that missed, and each repeat of the hit passes, the bare multi-get and the MAC service's hit pass (digests it holds; empty without one).</summary>
public sealed record CacheRates(double Miss, List<double> Pixels, List<double> Digests, List<double> KnownDigests, List<double> Bare, List<double> MacKnownDigests);
