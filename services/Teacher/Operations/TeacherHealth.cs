using Grpc.Health.V1;
using Grpc.HealthCheck;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Upstream;

namespace TeacherStudent.Teacher.Operations;

/// <summary>
/// The gRPC health service's answers: each teacher name is SERVING once a version of it is
/// loaded (a name added later becomes SERVING when its first version is in), each upstream
/// teacher from the start (whether its endpoint answers is each call's business: a probe that
/// failed the pod over an outside API would only take the local teachers down with it), and the
/// whole service ("") is SERVING while it runs; everything turns NOT_SERVING when it begins to
/// stop (<see cref="GracefulStop"/>), before any stream ends.
/// </summary>
public sealed class TeacherHealth(HealthServiceImpl health, TeacherRegistry registry, UpstreamTeachers upstreams) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        registry.Changed += Serving;
        foreach (var teacher in registry.All) Serving(teacher.Name);
        foreach (var teacher in upstreams.All) Serving(teacher.Name);
        health.SetStatus("", HealthCheckResponse.Types.ServingStatus.Serving);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        NotServing();
        return Task.CompletedTask;
    }

    /// <summary>The whole service and every teacher NOT_SERVING, for good (a teacher loaded later stays so).</summary>
    public void NotServing()
    {
        registry.Changed -= Serving;
        health.SetStatus("", HealthCheckResponse.Types.ServingStatus.NotServing);
        foreach (var name in registry.All.Select(t => t.Name).Concat(upstreams.All.Select(t => t.Name)))
            health.SetStatus(name, HealthCheckResponse.Types.ServingStatus.NotServing);
    }

    private void Serving(string name) => health.SetStatus(name, HealthCheckResponse.Types.ServingStatus.Serving);
}
