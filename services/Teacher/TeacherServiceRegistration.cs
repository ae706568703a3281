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

    private static IConnectionMultiplexer ConnectRedis(IServiceProvider services)
    {
        var redis = services.GetRequiredService<IOptions<CacheOptions>>().Value.Redis;
        try
        {
            // Connecting does not need Redis to be up: only a connection string that makes no sense fails here.
            return RedisConnection.Open(redis);
        }
        catch (Exception e) when (e is ArgumentException or RedisException)
        {
            throw new TeacherStartupException($"Cache:Redis is not a usable StackExchange.Redis connection string: {e.Message}", e);
        }
    }

    private static ISoftTargetCache ChooseCache(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<CacheOptions>>();
        var logger = services.GetRequiredService<ILogger<ISoftTargetCache>>();
        if (!options.Value.UsesRedis)
        {
            logger.CacheChosen($"in-process, up to {options.Value.InProcessCapacity} examples and {options.Value.InProcessMegabytes} MB");
            return new InProcessSoftTargetCache(options);
        }
        var redis = services.GetRequiredService<IConnectionMultiplexer>();
        // Endpoints only: the connection string may carry a password.
        var endpoints = string.Join(", ", redis.GetEndPoints().Select(e => e.ToString()));
        logger.CacheChosen($"Redis at {endpoints} ({(redis.IsConnected ? "connected" : "not connected yet; retrying in the background")})");
        return new RedisSoftTargetCache(redis, options, services.GetRequiredService<ILogger<RedisSoftTargetCache>>());
    }
}
