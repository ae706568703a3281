using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using TeacherStudent.StudentTrainer.TeacherClient;
using Xunit.Abstractions;
using static TeacherStudent.Deployment.Tests.Manifests;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// Every manifest of k8s/, loaded with KubernetesClient's typed YAML loader, and the overlays
/// rendered (<see cref="Kustomize"/>: by kubectl, which each test's output names), checked for what
/// a reviewer would look at.
/// </summary>
public sealed class KubernetesManifestTests
{
    private const string Gpu = "nvidia.com/gpu";

    public KubernetesManifestTests(ITestOutputHelper output) => output.WriteLine(Kustomize.Renderer);

    [Fact]
    public void EveryManifestLoadsStrictlyAsTypedObjectsAndEveryBaseFileIsAResource()
    {
        foreach (var file in Directory.GetFiles(Kustomize.Root, "*.yaml", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != "kustomization.yaml"))
        {
            // strict: a field the Kubernetes API does not have (a typo, a wrong level) fails.
            var objects = KubernetesYaml.LoadAllFromString(File.ReadAllText(file), strict: true);
            Assert.True(objects.Count > 0, $"{file} holds no object");
            Assert.All(objects, o => Assert.IsAssignableFrom<IKubernetesObject>(o));
        }
        var listed = ((List<object>)Kustomize.Kustomization(Path.Combine(Kustomize.Root, "base"))["resources"]).Cast<string>().Order();
        var present = Directory.GetFiles(Path.Combine(Kustomize.Root, "base"), "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml").Order();
        Assert.Equal(present, listed);
    }

    [Theory]
    [MemberData(nameof(Renderings), MemberType = typeof(Manifests))]
    public void SelectorsMatchTheLabelsOfThePodsTheyMeanToSelect(string overlay)
    {
        var objects = Kustomize.Render(overlay);
        var pods = Workloads(objects).ToList();

        foreach (var (kind, name, template, selector) in pods.Where(w => w.Selector is not null))
            Assert.True(Selects(selector!.MatchLabels, template.Metadata.Labels), $"{kind}/{name}: its selector does not match its pods");
        foreach (var service in objects.OfType<V1Service>())
            Assert.True(pods.Any(p => Selects(service.Spec.Selector, p.Template.Metadata.Labels)), $"Service {service.Metadata.Name} selects no pods");
        var budget = Single<V1PodDisruptionBudget>(objects, "teacher");
        Assert.True(Selects(budget.Spec.Selector.MatchLabels, pods.Single(p => p.Name == "teacher").Template.Metadata.Labels));
        Assert.False(Selects(budget.Spec.Selector.MatchLabels, pods.Single(p => p.Name == "redis").Template.Metadata.Labels));
        Assert.Equal("teacher", Single<V1Service>(objects, "teacher").Spec.Selector["app.kubernetes.io/name"]);
    }

    [Theory]
    [MemberData(nameof(Overlays), MemberType = typeof(Manifests))]
    public void TheTeachersPortProbesAndHeadlessServiceAreThePortTheServiceListensOn(string overlay)
    {
        var objects = Kustomize.Render(overlay);
        var pod = Single<V1Deployment>(objects, "teacher").Spec.Template;
        var teacher = pod.Spec.Containers.Single(c => c.Name == "teacher");
        var options = ConfigMap(objects, "teacher-options");
        var port = DockerfileTests.TeacherPort();

        var grpc = teacher.Ports.Single(p => p.Name == "grpc");
        Assert.Equal(port, grpc.ContainerPort);
        // gRPC probes of grpc.health.v1; ready only once the configured teacher is SERVING.
        foreach (var probe in new[] { teacher.StartupProbe, teacher.ReadinessProbe, teacher.LivenessProbe })
            Assert.Equal(port, probe.Grpc.Port);
        Assert.Equal(options["Teacher__Name"], teacher.ReadinessProbe.Grpc.Service);

        var metrics = teacher.Ports.Single(p => p.Name == "metrics").ContainerPort;
        Assert.Equal(options["Metrics__PrometheusPort"], $"{metrics}");
        Assert.Equal($"{metrics}", pod.Metadata.Annotations["prometheus.io/port"]);

        var service = Single<V1Service>(objects, "teacher");
        Assert.Equal("None", service.Spec.ClusterIP); // headless: the name resolves to every ready replica
        Assert.Equal("grpc", service.Spec.Ports.Single(p => p.Name == "grpc").TargetPort.Value);

        // Students find the replicas through that name, balanced round-robin by TeacherChannel.
        foreach (var (workload, container) in Containers(objects).Where(c => c.Container.Name == "student"))
        {
            var address = Environment(objects, container)["Teacher__Address"];
            Assert.Equal($"dns:///{service.Metadata.Name}:{service.Spec.Ports.Single(p => p.Name == "grpc").Port}", address);
            Assert.Equal(AddressKind.Dns, TeacherChannel.Parse(address).Kind);
        }
    }

    [Theory]
    [MemberData(nameof(Overlays), MemberType = typeof(Manifests))]
    public void EveryEnvironmentVariableNamesARealOptionAndEveryValueIsValid(string overlay)
    {
        var objects = Kustomize.Render(overlay);
        var checkedContainers = 0;
        foreach (var (workload, container) in Containers(objects))
        {
            var image = Kustomize.ImageName(container.Image);
            var (names, imageEnvironment) = image switch
            {
                "teacherstudent/teacher" => (OptionNames.Teacher, DockerfileTests.ImageEnvironment("Teacher")),
                "teacherstudent/student-trainer" => (OptionNames.StudentTrainer, DockerfileTests.ImageEnvironment("StudentTrainer")),
                _ => (null, []),
            };
            var environment = Environment(objects, container);
            if (names is null)
            {
                // redis is configured by its own file; its one variable is the password redis-cli sends.
                Assert.All(environment.Keys, k => Assert.Equal("REDISCLI_AUTH", k));
                continue;
            }
            if (container.Command is null && container.Args is null && image == "teacherstudent/teacher") checkedContainers++;
            var all = imageEnvironment.Concat(environment).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Last().Value);
            Assert.All(all.Keys, name => Assert.True(names.Problem(name) is null, $"{workload}/{container.Name}: {names.Problem(name)}"));
            if (environment.Count > 0) Assert.Empty(names.ValidationFailures(all));
        }
        Assert.Equal(1, checkedContainers); // the teacher's own container was among them
    }

    [Fact]
    public void AnEnvironmentVariableWithATypoIsCaught()
    {
        Assert.Null(OptionNames.Teacher.Problem("Batching__MaxBatch"));
        Assert.Null(OptionNames.Teacher.Problem("Teachers__1__Checkpoint"));
        Assert.Null(OptionNames.Teacher.Problem("Auth__ApiKeys__0"));
        Assert.NotNull(OptionNames.Teacher.Problem("Batching__MaxBatchSize"));
        Assert.NotNull(OptionNames.Teacher.Problem("Batching_MaxBatch"));
        Assert.NotNull(OptionNames.Teacher.Problem("Auth__ApiKeys"));
        Assert.NotNull(OptionNames.StudentTrainer.Problem("Cache__Redis"));
        Assert.Null(OptionNames.Teacher.Problem("Kestrel__Endpoints__Grpc__Url"));
        Assert.Null(OptionNames.Teacher.Problem("Kestrel__Endpoints__Grpc__Certificate__KeyPath"));
        Assert.Null(OptionNames.Teacher.Problem("Kestrel__Endpoints__Health__Protocols"));
        Assert.NotNull(OptionNames.Teacher.Problem("Kestrel__Endpoint__Grpc__Url"));
        Assert.NotNull(OptionNames.Teacher.Problem("Kestrel__Endpoints__Grpc__Certificate__KeyFile"));
        Assert.NotNull(OptionNames.Teacher.Problem("Kestrel__Endpoints__Grpc__Certificate"));
        Assert.NotNull(OptionNames.Teacher.Problem("Kestrel__Endpoints__Url"));
        Assert.NotNull(OptionNames.StudentTrainer.Problem("Kestrel__Endpoints__Grpc__Url")); // the trainer serves nothing
        Assert.NotEmpty(OptionNames.Teacher.ValidationFailures(new Dictionary<string, string> { ["Batching__MaxBatch"] = "0", ["Teacher__Checkpoint"] = "x" }));
    }

    [Theory]
    [MemberData(nameof(Renderings), MemberType = typeof(Manifests))]
    public void EveryContainerHasATaggedImageAndCpuAndMemoryRequestsAndAMemoryLimit(string overlay)
    {
        foreach (var (workload, container) in Containers(Kustomize.Render(overlay)))
        {
            var what = $"{overlay} {workload}/{container.Name}";
            Assert.Matches(@"^[a-z0-9./-]+:[A-Za-z0-9._-]+$", container.Image);
            Assert.NotEqual("latest", container.Image.Split(':')[^1]);
            Assert.True(container.Resources.Requests.ContainsKey("cpu") && container.Resources.Requests.ContainsKey("memory"), $"{what}: no cpu or memory request");
            Assert.True(container.Resources.Limits.TryGetValue("memory", out var limit), $"{what}: no memory limit");
            Assert.True(limit.ToDecimal() >= container.Resources.Requests["memory"].ToDecimal(), $"{what}: limit below request");
        }
    }

    [Fact]
    public void TheGpuIsRequestedOnlyByTheTeacherAndOnlyInTheGpuOverlay()
    {
        var gpu = Kustomize.Render("overlays/gpu");
        foreach (var (workload, container) in Containers(gpu))
        {
            var limits = container.Resources.Limits;
            if (workload == "Deployment/teacher" && container.Name == "teacher") Assert.Equal(1m, limits[Gpu].ToDecimal());
            else Assert.False(limits.ContainsKey(Gpu), $"{workload}/{container.Name} asks for a GPU");
        }
        Assert.Equal("cuda", ConfigMap(gpu, "teacher-options")["Teacher__Device"]);
        Assert.EndsWith(":cuda", Containers(gpu).Single(c => c.Container.Name == "teacher").Container.Image);
        // A rollout must not need a spare GPU.
        Assert.Equal("0", Single<V1Deployment>(gpu, "teacher").Spec.Strategy.RollingUpdate.MaxSurge.Value);

        foreach (var objects in new[] { Kustomize.Render("overlays/cpu"), Kustomize.Render("base") })
            Assert.All(Containers(objects), c => Assert.False(
                (c.Container.Resources.Limits?.ContainsKey(Gpu) ?? false) || (c.Container.Resources.Requests?.ContainsKey(Gpu) ?? false),
                $"{c.Workload}/{c.Container.Name} asks for a GPU outside the gpu overlay"));
        Assert.Equal("cpu", ConfigMap(Kustomize.Render("overlays/cpu"), "teacher-options")["Teacher__Device"]);
    }

    [Fact]
    public void OnTheCpuTheTeacherHoldsOneCopyPerCoreItRequestsAndOnTheGpuOne()
    {
        var cpu = Kustomize.Render("overlays/cpu");
        var teacher = Containers(cpu).Single(c => c.Workload == "Deployment/teacher" && c.Container.Name == "teacher").Container;

        var instances = ConfigMap(cpu, "teacher-options")["Teacher__Instances"];

        Assert.Equal(teacher.Resources.Requests["cpu"].ToDecimal(), decimal.Parse(instances, System.Globalization.CultureInfo.InvariantCulture));
        Assert.False(ConfigMap(Kustomize.Render("overlays/gpu"), "teacher-options").ContainsKey("Teacher__Instances"), "a GPU teacher runs one copy");
    }

    [Theory]
    [MemberData(nameof(Renderings), MemberType = typeof(Manifests))]
    public void EveryPodRunsAsNonRootWithTheImagesUserAndMountsOnlyVolumesItHas(string overlay)
    {
        var objects = Kustomize.Render(overlay);
        var claims = objects.OfType<V1PersistentVolumeClaim>().Select(c => c.Metadata.Name).ToHashSet();
        foreach (var (kind, name, template, _) in Workloads(objects))
        {
            var security = template.Spec.SecurityContext;
            Assert.True(security.RunAsNonRoot == true && security.RunAsUser > 0, $"{kind}/{name} may run as root");
            if (template.Spec.Containers.Any(c => c.Image.StartsWith("teacherstudent/", StringComparison.Ordinal)))
                Assert.Equal(1654, security.RunAsUser); // USER 1654:1654 in both Dockerfiles
            var volumes = (template.Spec.Volumes ?? []).Select(v => v.Name).ToHashSet();
            var templates = objects.OfType<V1StatefulSet>().Where(s => s.Metadata.Name == name).SelectMany(s => s.Spec.VolumeClaimTemplates ?? []).Select(t => t.Metadata.Name);
            volumes.UnionWith(templates);
            foreach (var container in (template.Spec.InitContainers ?? []).Concat(template.Spec.Containers))
                Assert.All(container.VolumeMounts ?? [], m => Assert.Contains(m.Name, volumes));
            foreach (var claim in (template.Spec.Volumes ?? []).Where(v => v.PersistentVolumeClaim is not null))
                Assert.Contains(claim.PersistentVolumeClaim.ClaimName, claims);
        }
        var access = overlay.Split('+')[0] == "overlays/cpu" ? "ReadWriteOnce" : "ReadWriteMany";
        Assert.All(objects.OfType<V1PersistentVolumeClaim>(), c => Assert.Equal([access], c.Spec.AccessModes));
    }

    [Fact]
    public void RedisKeepsItsDataOnAVolumeAndEvictsLeastRecentlyUsedKeysBelowItsMemoryLimit()
    {
        var objects = Kustomize.Render("overlays/gpu");
        var redis = Single<V1StatefulSet>(objects, "redis");
        var container = redis.Spec.Template.Spec.Containers.Single();
        var conf = ConfigMap(objects, "redis-config")["redis.conf"].Split('\n')
            .Select(l => l.Trim().Split(' ', 2)).Where(p => p.Length == 2).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last()[1]);

        Assert.Equal("allkeys-lru", conf["maxmemory-policy"]);
        var maxmemory = Regex.Match(conf["maxmemory"], @"^(\d+)(gb|mb)$");
        var bytes = long.Parse(maxmemory.Groups[1].Value) * (maxmemory.Groups[2].Value == "gb" ? 1L << 30 : 1L << 20);
        // Room above maxmemory for the snapshot's copy-on-write fork and Redis's own overhead.
        Assert.True(bytes <= container.Resources.Limits["memory"].ToDecimal() * 0.6m, "maxmemory leaves too little headroom under the memory limit");
        var data = redis.Spec.VolumeClaimTemplates.Single();
        Assert.Equal(conf["dir"], container.VolumeMounts.Single(m => m.Name == data.Metadata.Name).MountPath);
        // Started on the ConfigMap's redis.conf (with the password appended: RedisPasswordTests).
        Assert.Contains($"{container.VolumeMounts.Single(m => m.Name == "config").MountPath}/redis.conf", string.Join(' ', container.Command));

        // The teacher's cache points at that Redis.
        var service = Single<V1Service>(objects, "redis");
        Assert.Equal(redis.Spec.ServiceName, service.Metadata.Name);
        Assert.Equal($"{service.Metadata.Name}:{service.Spec.Ports.Single().Port}", ConfigMap(objects, "teacher-options")["Cache__Redis"]);
        Assert.Equal(int.Parse(conf["port"]), container.Ports.Single().ContainerPort);
    }
}
