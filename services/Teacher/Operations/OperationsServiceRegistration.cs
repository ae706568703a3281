using Grpc.HealthCheck;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Operations;

/// <summary>What it takes to run the service in production: health, reflection, metrics.</summary>
public static class OperationsServiceRegistration
{
    /// <summary>
    /// The gRPC health service, the graceful stop (options "Shutdown", and the host's shutdown
    /// timeout to match), server reflection and OpenTelemetry metrics (Prometheus when configured).
    /// </summary>
    public static WebApplicationBuilder AddTeacherOperations(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<HealthServiceImpl>();
        services.AddSingleton<TeacherHealth>();
        services.AddHostedService(sp => sp.GetRequiredService<TeacherHealth>());
        services.AddOptions<ShutdownOptions>().BindConfiguration(ShutdownOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<GracefulStop>();
        services.AddHostedService(sp => sp.GetRequiredService<GracefulStop>());
        // The host cancels its stop after this long: after the health delay, the drain and Kestrel's
        // closing. Read unvalidated, as the host is built: a bad value is reported once, on start.
        services.AddOptions<HostOptions>().Configure<IConfiguration>((host, configuration) =>
        {
            var shutdown = new ShutdownOptions();
            try { configuration.GetSection(ShutdownOptions.Section).Bind(shutdown); }
            catch (InvalidOperationException) { /* not a number: start-up reports it */ }
            host.ShutdownTimeout = TimeSpan.FromSeconds(Math.Max(0, shutdown.StopSeconds));
        });
        services.AddGrpcReflection();
        services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.Section).ValidateDataAnnotations().ValidateOnStart();

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

    /// <summary>
    /// On <see cref="HealthOptions.OnlyPort"/>, refuses every call but the health service's, before it reaches its
    /// service (and the key check): a plaintext port for probes must not be a way around a TLS port's encryption.
    /// Comes before the services are mapped.
    /// </summary>
    public static WebApplication UseHealthOnlyPort(this WebApplication app)
    {
        var port = app.Services.GetRequiredService<IOptions<HealthOptions>>().Value.OnlyPort;
        if (port == 0) return app;
        app.Use((context, next) =>
        {
            if (context.Connection.LocalPort != port || context.Request.Path.StartsWithSegments("/grpc.health.v1.Health", StringComparison.Ordinal))
                return next(context);
            // A trailers-only gRPC answer: the status in the headers, no message.
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = ((int)Grpc.Core.StatusCode.PermissionDenied).ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString($"port {port} answers only grpc.health.v1 (Health:OnlyPort); call the service's other port");
            return Task.CompletedTask;
        });
        return app;
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
