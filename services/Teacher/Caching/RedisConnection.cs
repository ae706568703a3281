using StackExchange.Redis;

namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// Opens the one <see cref="ConnectionMultiplexer"/> of this process. Tuned so that an outage costs
/// little: start-up does not fail without Redis, commands fail fast instead of queueing while
/// disconnected, and the multiplexer keeps reconnecting in the background on its own.
/// </summary>
public static class RedisConnection
{
    // Short timeouts: the cache is an optimisation, and a slow Redis must not slow every batch.
    // They come first so that the same settings in the connection string win.
    private const string Defaults = "connectTimeout=500,syncTimeout=500,asyncTimeout=500,connectRetry=1";

    /// <summary>Connects to <paramref name="connectionString"/> (StackExchange.Redis syntax).</summary>
    public static IConnectionMultiplexer Open(string connectionString)
    {
        var configuration = ConfigurationOptions.Parse($"{Defaults},{connectionString}");
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ReconnectRetryPolicy = new ExponentialRetry(deltaBackOffMilliseconds: 250, maxDeltaBackOffMilliseconds: 2000);
        return ConnectionMultiplexer.Connect(configuration);
    }
}
