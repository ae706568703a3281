using Grpc.AspNetCore.Server;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Auth;

/// <summary>API-key authentication of every gRPC call, added to a service collection in one call.</summary>
public static class AuthServiceRegistration
{
    /// <summary>Options "Auth", the configured keys (read again as their files change), and <see cref="ApiKeyInterceptor"/> on every gRPC service.</summary>
    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services)
    {
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<CallerKeys>();
        services.AddSingleton<ApiKeyInterceptor>();
        services.AddHostedService<KeyFileWatcher>();
        services.Configure<GrpcServiceOptions>(grpc => grpc.Interceptors.Add<ApiKeyInterceptor>());
        return services;
    }
}
