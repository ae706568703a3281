using Grpc.Health.V1;
using Grpc.HealthCheck;
using TeacherStudent.Teacher.Registry;

namespace TeacherStudent.Teacher.Operations;

/// <summary>
/// The gRPC health service's answers: each teacher name is SERVING once a version of it is
/// loaded (a name added later becomes SERVING when its first version is in), and the whole
/// service ("") is SERVING while it runs; everything turns NOT_SERVING when it stops.
/// </summary>
public sealed class TeacherHealth(HealthServiceImpl health, TeacherRegistry registry) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        registry.Changed += Serving;
        foreach (var teacher in registry.All) Serving(teacher.Name);
        health.SetStatus("", HealthCheckResponse.Types.ServingStatus.Serving);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        registry.Changed -= Serving;
        health.SetStatus("", HealthCheckResponse.Types.ServingStatus.NotServing);
        foreach (var teacher in registry.All) health.SetStatus(teacher.Name, HealthCheckResponse.Types.ServingStatus.NotServing);
        return Task.CompletedTask;
    }

    private void Serving(string name) => health.SetStatus(name, HealthCheckResponse.Types.ServingStatus.Serving);
}
