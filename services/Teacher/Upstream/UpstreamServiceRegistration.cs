using Microsoft.Extensions.DependencyInjection.Extensions;
using TeacherStudent.Teacher.Generation;

namespace TeacherStudent.Teacher.Upstream;

/// <summary>The upstream (black-box, OpenAI-compatible) teachers, added to a service collection in one call.</summary>
public static class UpstreamServiceRegistration
{
    /// <summary>
    /// <see cref="UpstreamTeachers"/> from the "Upstreams" list of <see cref="Options.TeachersOptions"/>
    /// (bound and validated by the registry's registration), also as the <see cref="IUpstreamGenerators"/>
    /// of the Generate call, and the HTTP client they call through.
    /// </summary>
    public static IServiceCollection AddUpstreamTeachers(this IServiceCollection services)
    {
        services.AddHttpClient(UpstreamTeacher.HttpClientName, client =>
            {
                // Each teacher's resilience pipeline times every attempt and every sample; a second
                // clock here would fire as a bare TaskCanceledException.
                client.Timeout = Timeout.InfiniteTimeSpan;
                client.MaxResponseContentBufferSize = 16 << 20;
            })
            // One line per HTTP call is noise at this rate; retries and the breaker are logged by the teacher.
            .RemoveAllLoggers();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<UpstreamTeachers>();
        // Added before the service's fallback (no upstream teachers), which then stays out.
        services.AddSingleton<IUpstreamGenerators>(sp => sp.GetRequiredService<UpstreamTeachers>());
        return services;
    }
}
