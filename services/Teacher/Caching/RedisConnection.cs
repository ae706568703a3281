using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using StackExchange.Redis;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// Opens the one <see cref="ConnectionMultiplexer"/> of this process. Tuned so that an outage costs
/// little: start-up does not fail without Redis, commands fail fast instead of queueing while
/// disconnected, and the multiplexer keeps reconnecting in the background on its own. A Redis that
/// refuses the password or the TLS handshake is an outage too (the service computes every target),
/// said in one line when it happens and again after it has been mended and broken anew.
/// </summary>
public static class RedisConnection
{
    // Short timeouts: the cache is an optimisation, and a slow Redis must not slow every batch.
    // They come first so that the same settings in the connection string win.
    private const string Defaults = "connectTimeout=500,syncTimeout=500,asyncTimeout=500,connectRetry=1";

    /// <summary>Connects to <see cref="CacheOptions.Redis"/> with the password and TLS settings of <paramref name="options"/>.</summary>
    /// <exception cref="TeacherStartupException">a setting cannot be used (a file that cannot be read, a connection string that makes no sense).</exception>
    public static IConnectionMultiplexer Open(CacheOptions options, ILogger logger)
    {
        var configuration = Configure(options);
        var refused = 0;
        ConnectionMultiplexer connection;
        try
        {
            // First strictly, so that a refused password or handshake at start-up is an exception that says so
            // (events raised inside Connect come before anyone can subscribe to them)...
            var strict = configuration.Clone();
            strict.AbortOnConnectFail = true;
            connection = ConnectionMultiplexer.Connect(strict);
        }
        catch (RedisConnectionException e)
        {
            if (e.FailureType == ConnectionFailureType.AuthenticationFailure && Interlocked.Exchange(ref refused, 1) == 0)
                logger.RedisRefusedConnection(string.Join(", ", configuration.EndPoints), Reason(e));
            // ...then as the service runs: not connected yet, trying again in the background.
            connection = ConnectionMultiplexer.Connect(configuration);
        }
        // Later refusals (Redis's password changed, its certificate replaced) are said once each time they start.
        connection.ConnectionFailed += (_, failure) =>
        {
            if (failure.FailureType == ConnectionFailureType.AuthenticationFailure && Interlocked.Exchange(ref refused, 1) == 0)
                logger.RedisRefusedConnection(failure.EndPoint?.ToString() ?? "?", Reason(failure.Exception));
        };
        connection.ConnectionRestored += (_, _) => Interlocked.Exchange(ref refused, 0);
        return connection;
    }

    /// <summary>The multiplexer's configuration for <paramref name="options"/>.</summary>
    /// <exception cref="TeacherStartupException">a setting cannot be used.</exception>
    public static ConfigurationOptions Configure(CacheOptions options)
    {
        ConfigurationOptions configuration;
        try
        {
            configuration = ConfigurationOptions.Parse($"{Defaults},{options.Redis}");
        }
        catch (Exception e) when (e is ArgumentException or RedisException)
        {
            throw new TeacherStartupException($"Cache:Redis is not a usable StackExchange.Redis connection string: {e.Message}", e);
        }
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ReconnectRetryPolicy = new ExponentialRetry(deltaBackOffMilliseconds: 250, maxDeltaBackOffMilliseconds: 2000);

        var password = SecretSettings.Read(options.RedisPassword, options.RedisPasswordFile, "Cache:RedisPasswordFile");
        if (password.Length > 0) configuration.Password = password;
        if (options.RedisUser.Length > 0) configuration.User = options.RedisUser;

        if (options.RedisTls) configuration.Ssl = true;
        if (options.RedisTlsHost.Length > 0) configuration.SslHost = options.RedisTlsHost;
        if (options.RedisTlsCaFile.Length > 0)
        {
            RequireFile(options.RedisTlsCaFile, "Cache:RedisTlsCaFile");
            configuration.TrustIssuer(options.RedisTlsCaFile);
        }
        if (options.RedisTlsCertificateFile.Length > 0)
        {
            X509Certificate2 certificate;
            try
            {
                certificate = X509Certificate2.CreateFromPemFile(options.RedisTlsCertificateFile, options.RedisTlsKeyFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                throw new TeacherStartupException(
                    $"Cache:RedisTlsCertificateFile '{options.RedisTlsCertificateFile}' with Cache:RedisTlsKeyFile '{options.RedisTlsKeyFile}' is not a usable PEM certificate and key: {e.Message}", e);
            }
            configuration.CertificateSelection += (_, _, _, _, _) => certificate;
        }
        if (!configuration.Ssl && (options.RedisTlsCaFile.Length > 0 || options.RedisTlsCertificateFile.Length > 0 || options.RedisTlsHost.Length > 0))
            throw new TeacherStartupException("Cache:RedisTlsCaFile, Cache:RedisTlsCertificateFile and Cache:RedisTlsHost are TLS settings, and TLS to Redis is off; set Cache:RedisTls=true too.");
        return configuration;
    }

    private static void RequireFile(string path, string setting)
    {
        if (!File.Exists(path)) throw new TeacherStartupException($"{setting} '{path}' does not exist.");
    }

    // The innermost message: what Redis or the TLS layer said (WRONGPASS ..., a certificate chain error).
    private static string Reason(Exception? exception)
    {
        while (exception?.InnerException is not null) exception = exception.InnerException;
        return exception?.Message ?? "no reason given";
    }
}
