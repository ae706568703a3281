using Grpc.AspNetCore.Server;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TeacherStudent.Teacher.Auth;
using TeacherStudent.Teacher.Batching;
using TeacherStudent.Teacher.Caching;
using TeacherStudent.Teacher.Generation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TeacherStudent.Teacher.Language;
using TeacherStudent.Teacher.Rpc;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Upstream;

namespace TeacherStudent.Teacher;

/// <summary>Everything the teacher host needs, added to a builder in one call.</summary>
public static class TeacherServiceRegistration
{
    /// <summary>Options, the teacher registry, the soft-target cache, API keys, gRPC and Kestrel limits.</summary>
    public static WebApplicationBuilder AddTeacherServices(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<CacheOptions>().BindConfiguration(CacheOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<StreamOptions>().BindConfiguration(StreamOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        services.AddTeacherRegistry();
        services.AddUpstreamTeachers();
        services.AddApiKeyAuthentication();
        services.AddSingleton(sp => new SoftTargetKeys(sp.GetRequiredService<IOptions<CacheOptions>>().Value.KeyPrefix));
        services.AddSingleton(ConnectRedis);
        services.AddSingleton<ISoftTargetCache>(ChooseCache);
        services.AddSingleton<CachedSoftTargets>();
        services.AddSingleton<EnsembleSoftTargets>();
        services.AddSingleton(sp => new SequenceTargetKeys(sp.GetRequiredService<IOptions<CacheOptions>>().Value.KeyPrefix));
        services.AddSingleton<CachedSequenceTargets>();
        services.AddSingleton<EnsembleSequenceTargets>();
        services.AddDynamicBatching();
        services.AddOptions<GenerationOptions>().BindConfiguration(GenerationOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<LocalGenerators>();
        services.AddSingleton(sp => new GenerationKeys(sp.GetRequiredService<IOptions<CacheOptions>>().Value.KeyPrefix));
        services.AddSingleton<CachedGeneration>();
        services.TryAddSingleton<IUpstreamGenerators, NoUpstreamGenerators>();
        services.AddSingleton<KnownTeachers>();

        services.AddGrpc();
        // Malformed requests are refused in the deserialiser, which reaches the reporter through the request.
        services.AddHttpContextAccessor();
        services.AddSingleton<MalformedMessages>();
        services.AddSingleton<IConfigureOptions<GrpcServiceOptions>, GrpcMessageLimits>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Large batches stream faster when HTTP/2 flow control does not stall every 64 KB.
            kestrel.Limits.Http2.InitialConnectionWindowSize = 32 << 20;
            kestrel.Limits.Http2.InitialStreamWindowSize = 16 << 20;
        });
        return builder;
    }

    // Connecting does not need Redis to be up (or to accept the password): only settings that cannot be used fail here.
    private static IConnectionMultiplexer ConnectRedis(IServiceProvider services) =>
        RedisConnection.Open(services.GetRequiredService<IOptions<CacheOptions>>().Value, services.GetRequiredService<ILogger<RedisSoftTargetCache>>());

    // A MAC's key shorter than this is guessable; 32 hex digits carry 128 bits.
    private const int MinimumKeySecretLength = 32;

    private static ISoftTargetCache ChooseCache(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<CacheOptions>>();
        var logger = services.GetRequiredService<ILogger<ISoftTargetCache>>();
        var secret = SecretSettings.Read(options.Value.KeySecret, options.Value.KeySecretFile, "Cache:KeySecretFile");
        if (secret.Length is > 0 and < MinimumKeySecretLength)
            throw new TeacherStartupException($"Cache:KeySecret is {secret.Length} characters long; give a random secret of at least {MinimumKeySecretLength} (openssl rand -hex 32 makes one of 64).");
        if (!options.Value.UsesRedis)
        {
            logger.CacheChosen($"in-process, up to {options.Value.InProcessCapacity} examples and {options.Value.InProcessMegabytes} MB"
                               + (secret.Length > 0 ? " (Cache:KeySecret is not used: nothing but this process writes to it)" : ""));
            return new InProcessSoftTargetCache(options);
        }
        var redis = services.GetRequiredService<IConnectionMultiplexer>();
        // Endpoints only: the connection string may carry a password.
        var endpoints = string.Join(", ", redis.GetEndPoints().Select(e => e.ToString()));
        logger.CacheChosen($"Redis at {endpoints} ({(redis.IsConnected ? "connected" : "not connected yet; retrying in the background")})"
                           + (secret.Length > 0 ? ", every value under a MAC (Cache:KeySecret)" : ""));
        var cache = new RedisSoftTargetCache(redis, options, services.GetRequiredService<ILogger<RedisSoftTargetCache>>());
        if (secret.Length == 0) return cache;
        return new AuthenticatedSoftTargetCache(cache, System.Text.Encoding.UTF8.GetBytes(secret),
            services.GetRequiredService<Telemetry.TeacherMetrics>(), services.GetRequiredService<ILogger<AuthenticatedSoftTargetCache>>());
    }
}
