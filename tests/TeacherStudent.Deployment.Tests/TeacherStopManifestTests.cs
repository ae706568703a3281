using k8s.Models;
using Microsoft.Extensions.Configuration;
using TeacherStudent.Teacher.Options;
using static TeacherStudent.Deployment.Tests.Manifests;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// How a teacher pod stops in a rolling update or a scale-down: its graceful stop (the options
/// "Shutdown" as the service binds them from the pod's environment) must end inside the grace
/// period the kubelet gives it, and a readiness probe must see NOT_SERVING before streams end.
/// </summary>
public sealed class TeacherStopManifestTests
{
    [Theory]
    [MemberData(nameof(Renderings), MemberType = typeof(Manifests))]
    public void TheTeachersWholeStopEndsInsideItsPodsTerminationGracePeriod(string overlay)
    {
        var (pod, shutdown) = Teacher(overlay);

        // Delay, drain and Kestrel's closing (the host's shutdown timeout), before the kubelet's SIGKILL.
        Assert.NotNull(pod.TerminationGracePeriodSeconds);
        Assert.True(shutdown.StopSeconds < pod.TerminationGracePeriodSeconds,
            $"{overlay}: the teacher may take {shutdown.HealthDelaySeconds} + {shutdown.DrainSeconds} + {ShutdownOptions.CloseSeconds} s to stop, " +
            $"not less than the {pod.TerminationGracePeriodSeconds} s it is given");
        Assert.True(shutdown.DrainSeconds >= 10, $"{overlay}: a drain of {shutdown.DrainSeconds} s leaves a long Generate call no time to finish");
    }

    [Theory]
    [MemberData(nameof(Renderings), MemberType = typeof(Manifests))]
    public void AReadinessProbeSeesNotServingBeforeTheDrainBegins(string overlay)
    {
        var (pod, shutdown) = Teacher(overlay);
        var readiness = pod.Containers.Single(c => c.Name == "teacher").ReadinessProbe;

        Assert.True(shutdown.HealthDelaySeconds >= (readiness.PeriodSeconds ?? 10),
            $"{overlay}: the service drains {shutdown.HealthDelaySeconds} s after NOT_SERVING, before the next readiness probe ({readiness.PeriodSeconds} s) can see it");
    }

    // The teacher's pod spec, and its Shutdown options bound from the image's and the pod's environment as the service binds them.
    private static (V1PodSpec Pod, ShutdownOptions Shutdown) Teacher(string overlay)
    {
        var objects = Kustomize.Render(overlay);
        var pod = Single<V1Deployment>(objects, "teacher").Spec.Template.Spec;
        var container = pod.Containers.Single(c => c.Name == "teacher");
        var environment = DockerfileTests.ImageEnvironment("Teacher").Concat(Environment(objects, container))
            .GroupBy(e => e.Key).ToDictionary(g => g.Key.Replace("__", ":"), g => (string?)g.Last().Value);
        var shutdown = new ShutdownOptions();
        new ConfigurationBuilder().AddInMemoryCollection(environment).Build().GetSection(ShutdownOptions.Section).Bind(shutdown);
        return (pod, shutdown);
    }
}
