using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Batching;

/// <summary>Dynamic batching and the service's metrics, added to a service collection in one call.</summary>
public static class BatchingServiceRegistration
{
    /// <summary>Options "Batching", <see cref="TeacherMetrics"/>, one batcher per teacher version and the forward that uses them.</summary>
    public static IServiceCollection AddDynamicBatching(this IServiceCollection services)
    {
        services.AddOptions<BatchingOptions>().BindConfiguration(BatchingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<TeacherMetrics>();
        services.AddSingleton<BatcherPool>();
        services.AddSingleton<TeacherForward>();
        return services;
    }
}
