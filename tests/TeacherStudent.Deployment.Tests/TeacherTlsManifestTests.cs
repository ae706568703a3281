using k8s.Models;
using TeacherStudent.StudentTrainer.TeacherClient;
using Xunit.Abstractions;
using static TeacherStudent.Deployment.Tests.Manifests;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// The component components/teacher-tls, added to each overlay as a user adds it: the teacher serves
/// gRPC over TLS on the Service's port with the certificate of the Secret teacher-tls, its probes
/// move to a plaintext port that answers health only, the students check every replica against one
/// name and the cluster's own authority; and without the component none of it is there.
/// </summary>
public sealed class TeacherTlsManifestTests
{
    public TeacherTlsManifestTests(ITestOutputHelper output) => output.WriteLine(Kustomize.Renderer);

    private static string WithTls(string overlay) => $"{overlay}+{TlsComponent}";

    /// <summary>The teacher's pod, its container, the variables it gets (the image's, then the pod's), and its Kestrel endpoints.</summary>
    private sealed record TeacherPod(V1PodSpec Pod, V1Container Container, Dictionary<string, string> Environment, List<KestrelEndpoint> Endpoints);

    private static TeacherPod Teacher(List<object> objects)
    {
        var pod = Single<V1Deployment>(objects, "teacher").Spec.Template.Spec;
        var container = pod.Containers.Single(c => c.Name == "teacher");
        var environment = DockerfileTests.ImageEnvironment("Teacher").Concat(Environment(objects, container))
            .GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Last().Value);
        return new TeacherPod(pod, container, environment, KestrelEndpoints.Of(KestrelEndpoints.TeacherConfiguration(environment)));
    }

    /// <summary>The folder a Secret is mounted at in <paramref name="container"/>: mounted whole, read-only, readable by the pod's group and no one else.</summary>
    private static string MountOf(V1PodSpec pod, V1Container container, string secret)
    {
        var volume = pod.Volumes.Single(v => v.Secret?.SecretName == secret);
        var mount = container.VolumeMounts.Single(m => m.Name == volume.Name);
        Assert.True(mount.ReadOnlyProperty == true, $"{secret} is mounted writable");
        Assert.Null(mount.SubPath); // the kubelet never updates a subPath file
        Assert.Null(volume.Secret.Items); // every key a file of the folder
        var mode = volume.Secret.DefaultMode ?? 0x1A4; // 0644, the API's default
        Assert.True((mode & 0x7) == 0 && (mode & 0x20) != 0, $"{secret}: mode {Convert.ToString(mode, 8)}");
        return mount.MountPath;
    }

    [Theory]
    [MemberData(nameof(Overlays), MemberType = typeof(Manifests))]
    public void TheTeacherServesGrpcOverTlsOnTheServicesPortWithTheCertificateOfTheMountedSecret(string overlay)
    {
        var objects = Kustomize.Render(WithTls(overlay));
        var teacher = Teacher(objects);
        var service = Single<V1Service>(objects, "teacher").Spec.Ports.Single(p => p.Name == "grpc");
        var policy = Single<V1NetworkPolicy>(objects, "teacher-grpc").Spec.Ingress.Single().Ports.Single();

        var port = teacher.Container.Ports.Single(p => p.Name == service.TargetPort.Value).ContainerPort;
        var grpc = teacher.Endpoints.Single(e => e.Port == port);

        // The port students are sent to, and the one the policy opens to them, is TLS on every address, HTTP/2 by ALPN.
        Assert.Equal(service.Port, port);
        Assert.Equal($"{port}", policy.Port.Value);
        Assert.Equal(("https", true), (grpc.Scheme, grpc.EveryAddress));
        Assert.Contains("Http2", grpc.Protocols);
        // The image's URL names the same port (its EXPOSE and HEALTHCHECK stay true): the endpoints take its place on it.
        Assert.Equal(DockerfileTests.TeacherPort(), port);
        // Certificate and key are tls.crt and tls.key, the keys of a kubernetes.io/tls Secret, from the folder teacher-tls is mounted at.
        var folder = MountOf(teacher.Pod, teacher.Container, "teacher-tls");
        Assert.Equal(($"{folder}/tls.crt", $"{folder}/tls.key"), (grpc.CertificatePath, grpc.KeyPath));
        // Every variable a real setting of the teacher, every value valid.
        Assert.All(teacher.Environment.Keys, name => Assert.True(OptionNames.Teacher.Problem(name) is null, OptionNames.Teacher.Problem(name)));
        Assert.Empty(OptionNames.Teacher.ValidationFailures(teacher.Environment));
    }

    [Theory]
    [MemberData(nameof(Overlays), MemberType = typeof(Manifests))]
    public void TheProbesUseAPlaintextPortOfTheirOwnThatAnswersOnlyTheHealthService(string overlay)
    {
        var objects = Kustomize.Render(WithTls(overlay));
        var teacher = Teacher(objects);
        var options = ConfigMap(objects, "teacher-options");

        var healthOnly = int.Parse(teacher.Environment["Health__OnlyPort"], System.Globalization.CultureInfo.InvariantCulture);

        Assert.InRange(healthOnly, 1, 65535);
        foreach (var probe in new[] { teacher.Container.StartupProbe, teacher.Container.ReadinessProbe, teacher.Container.LivenessProbe })
            Assert.Equal(healthOnly, probe.Grpc.Port);
        Assert.Equal(options["Teacher__Name"], teacher.Container.ReadinessProbe.Grpc.Service); // ready once that teacher is SERVING
        Assert.Equal(healthOnly, teacher.Container.Ports.Single(p => p.Name == "health").ContainerPort);
        // Kestrel listens there without TLS, in HTTP/2 from the first byte, as the kubelet's gRPC probe speaks it.
        var health = teacher.Endpoints.Single(e => e.Port == healthOnly);
        Assert.Equal(("http", true, "Http2"), (health.Scheme, health.EveryAddress, health.Protocols));
        Assert.Null(health.CertificatePath);
        // It is the only plaintext endpoint, and no port of the Service: students are never sent there.
        Assert.Equal(new[] { health }, teacher.Endpoints.Where(e => e.Scheme == "http"));
        Assert.Equal(2, teacher.Endpoints.Count);
        Assert.DoesNotContain(Single<V1Service>(objects, "teacher").Spec.Ports, p => p.Port == healthOnly || p.TargetPort.Value is "health" || p.TargetPort.Value == $"{healthOnly}");
    }

    [Theory]
    [MemberData(nameof(Overlays), MemberType = typeof(Manifests))]
    public void StudentsCheckEveryReplicaAgainstTheServicesNameAndTheClustersOwnAuthority(string overlay)
    {
        var objects = Kustomize.Render(WithTls(overlay));
        var service = Single<V1Service>(objects, "teacher");
        var ns = service.Metadata.NamespaceProperty;
        var students = Single<V1Job>(objects, "students").Spec.Template.Spec;
        var student = students.Containers.Single(c => c.Name == "student");

        var environment = Environment(objects, student);

        // The address stays every ready replica of the headless Service; the one name checked is that Service's.
        var address = environment["Teacher__Address"];
        Assert.Equal($"dns:///{service.Metadata.Name}:{service.Spec.Ports.Single(p => p.Name == "grpc").Port}", address);
        Assert.Equal($"{service.Metadata.Name}.{ns}.svc", environment["Teacher__TlsHost"]);
        Assert.Equal(UriHostNameType.Dns, Uri.CheckHostName(environment["Teacher__TlsHost"]));
        Assert.Equal($"{MountOf(students, student, "teacher-tls-ca")}/ca.crt", environment["Teacher__TlsCaFile"]);
        var parsed = TeacherChannel.Parse(address, new TeacherTls(environment["Teacher__TlsHost"], environment["Teacher__TlsCaFile"]));
        Assert.Equal((AddressKind.Dns, true), (parsed.Kind, parsed.Secure));
        Assert.All(environment.Keys, name => Assert.True(OptionNames.StudentTrainer.Problem(name) is null, OptionNames.StudentTrainer.Problem(name)));
        // Whatever calls the teacher does so over TLS; the teacher-training Job calls none and is left as it is.
        foreach (var (workload, container) in Containers(objects).Where(c => Environment(objects, c.Container).ContainsKey("Teacher__Address")))
            Assert.True(Environment(objects, container).ContainsKey("Teacher__TlsHost"), $"{workload}/{container.Name} calls the teacher in plaintext");
        var training = Single<V1Job>(objects, "teacher-training").Spec.Template.Spec.Containers.Single();
        Assert.DoesNotContain(Environment(objects, training).Keys, k => k.StartsWith("Teacher__", StringComparison.Ordinal));
        Assert.Contains("supervised", training.Args);
    }

    [Theory]
    [MemberData(nameof(Overlays), MemberType = typeof(Manifests))]
    public void TheServicesGrpcPortNoLongerSaysCleartextHttp2(string overlay)
    {
        string AppProtocol(string rendering) => Single<V1Service>(Kustomize.Render(rendering), "teacher").Spec.Ports.Single(p => p.Name == "grpc").AppProtocol;

        Assert.Equal("kubernetes.io/h2c", AppProtocol(overlay));
        Assert.Equal("https", AppProtocol(WithTls(overlay))); // the IANA service name of HTTP over TLS
    }

    [Theory]
    [InlineData("base")]
    [InlineData("overlays/cpu")]
    [InlineData("overlays/gpu")]
    public void WithoutTheComponentTheTeacherAndStudentsTalkPlaintextAsBefore(string kustomization)
    {
        var objects = Kustomize.Render(kustomization);
        var teacher = Teacher(objects);
        var students = Single<V1Job>(objects, "students").Spec.Template.Spec;
        var student = Environment(objects, students.Containers.Single(c => c.Name == "student"));

        // No endpoint of configuration: Kestrel listens where the image's ASPNETCORE_URLS says, without TLS.
        Assert.Empty(teacher.Endpoints);
        Assert.DoesNotContain(teacher.Environment.Keys, k => k.StartsWith("Kestrel__", StringComparison.Ordinal) || k.StartsWith("Health__", StringComparison.Ordinal));
        Assert.StartsWith("http://", teacher.Environment["ASPNETCORE_URLS"]);
        Assert.All(new[] { teacher.Container.StartupProbe, teacher.Container.ReadinessProbe, teacher.Container.LivenessProbe },
            p => Assert.Equal(DockerfileTests.TeacherPort(), p.Grpc.Port));
        Assert.DoesNotContain(teacher.Container.Ports, p => p.Name == "health");
        Assert.DoesNotContain(teacher.Pod.Volumes, v => v.Secret?.SecretName is "teacher-tls" or "teacher-tls-ca");
        Assert.DoesNotContain(student.Keys, k => k is "Teacher__TlsHost" or "Teacher__TlsCaFile");
        Assert.DoesNotContain(students.Volumes, v => v.Secret?.SecretName is "teacher-tls" or "teacher-tls-ca");
        Assert.False(TeacherChannel.Parse(student["Teacher__Address"]).Secure);
    }
}
