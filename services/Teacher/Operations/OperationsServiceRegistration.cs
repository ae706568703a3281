using Grpc.HealthCheck;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Operations;

/// <summary>What it takes to run the service in production: health, reflection, metrics.</summary>
public static class OperationsServiceRegistration
{
    /// <summary>The gRPC health service, server reflection and OpenTelemetry metrics (Prometheus when configured).</summary>
    public static WebApplicationBuilder AddTeacherOperations(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<HealthServiceImpl>();
        services.AddHostedService<TeacherHealth>();
        services.AddGrpcReflection();

        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<TeacherVersionGauge>();
        var metricsOptions = builder.Configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>() ?? new MetricsOptions();
        services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics.AddMeter(TeacherMetrics.MeterName);
            if (metricsOptions.PrometheusPort > 0)
                metrics.AddPrometheusHttpListener(o =>
                {
                    o.Host = metricsOptions.PrometheusHost;
                    o.Port = metricsOptions.PrometheusPort;
                });
        });
        return builder;
    }

    /// <summary>Maps the health and reflection services and creates the version gauge.</summary>
    public static WebApplication MapTeacherOperations(this WebApplication app)
    {
        app.MapGrpcService<HealthServiceImpl>();
        app.MapGrpcReflectionService();
        app.Services.GetRequiredService<TeacherVersionGauge>();
        _ = app.Services.GetRequiredService<IOptions<MetricsOptions>>().Value;
        return app;
    }
}
