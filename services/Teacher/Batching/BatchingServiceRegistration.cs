using TeacherStudent.Teacher.Caching;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// How the model is run for the misses of the cache, and the service's metrics, added to a
/// service collection in one call.
/// </summary>
public static class BatchingServiceRegistration
{
    /// <summary>
    /// Options "Batching", <see cref="TeacherMetrics"/>, one batcher per teacher version (a
    /// <see cref="SequenceBatcher"/> for a language model), the forwards that use them, and the map of examples being computed (<see cref="InFlightTargets"/>).
    /// </summary>
    public static IServiceCollection AddDynamicBatching(this IServiceCollection services)
    {
        services.AddOptions<BatchingOptions>().BindConfiguration(BatchingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<TeacherMetrics>();
        services.AddSingleton<BatcherPool>();
        services.AddSingleton<TeacherForward>();
        services.AddSingleton<SequenceBatcherPool>();
        services.AddSingleton<SequenceForward>();
        services.AddSingleton<InFlightTargets>();
        return services;
    }
}
