using k8s;
using k8s.Models;
using Xunit.Abstractions;
using static TeacherStudent.Deployment.Tests.Manifests;
using static TeacherStudent.Deployment.Tests.NetworkPolicies;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// The NetworkPolicies of each overlay, evaluated as Kubernetes evaluates them (<see cref="NetworkPolicies"/>)
/// against the labels of the pods the rendered workloads make and of a few pods that are not
/// theirs: who may reach Redis, the teacher's gRPC port and its metrics port, and who may not.
/// </summary>
public sealed class NetworkPolicyTests
{
    private const string DefaultDeny = "default-deny-ingress";
    private const string TeacherClient = "teacherstudent.io/teacher-client";
    private const string Monitoring = "teacherstudent.io/monitoring";

    public NetworkPolicyTests(ITestOutputHelper output) => output.WriteLine(Kustomize.Renderer);

    /// <summary>An overlay's policies, the pods of its workloads by "Kind/name", and pods that are none of theirs.</summary>
    private sealed record Network(List<V1NetworkPolicy> Policies, Dictionary<string, PodOnTheNetwork> Workloads, Outsiders Others)
    {
        public PodOnTheNetwork Teacher => Workloads["Deployment/teacher"];
        public PodOnTheNetwork Redis => Workloads["StatefulSet/redis"];
        public PodOnTheNetwork Students => Workloads["Job/students"];
        public PodOnTheNetwork TeacherTraining => Workloads["Job/teacher-training"];

        public int Port(PodOnTheNetwork pod, string name) => pod.Ports.Single(p => p.Name == name).ContainerPort;

        public void AssertLetIn(PodOnTheNetwork from, PodOnTheNetwork to, string port) =>
            Assert.True(Admits(Policies, from, to, Port(to, port)), $"{from} should reach {to} on {port} ({Port(to, port)}), and is kept out");

        public void AssertKeptOut(PodOnTheNetwork from, PodOnTheNetwork to, string port) =>
            Assert.False(Admits(Policies, from, to, Port(to, port)), $"{from} reaches {to} on {port} ({Port(to, port)})");
    }

    /// <summary>Pods that the manifests do not make: what a user, another namespace or a monitoring stack brings.</summary>
    private sealed record Outsiders(PodOnTheNetwork OwnStudent, PodOnTheNetwork Unlabelled, PodOnTheNetwork StudentElsewhere, PodOnTheNetwork Scraper, PodOnTheNetwork ScraperUnlabelledNamespace)
    {
        public IEnumerable<PodOnTheNetwork> All => [OwnStudent, Unlabelled, StudentElsewhere, Scraper, ScraperUnlabelledNamespace];
    }

    private static Network Render(string overlay)
    {
        var objects = Kustomize.Render(overlay);
        var ns = objects.OfType<V1Namespace>().Single();
        var labels = NamespaceLabels(ns.Metadata.Name, ns.Metadata.Labels);
        var pods = Workloads(objects).ToDictionary(w => $"{w.Kind}/{w.Name}", w => new PodOnTheNetwork(
            $"{w.Kind}/{w.Name}", ns.Metadata.Name, labels,
            PodLabels(w.Kind, w.Name, w.Template, indexed: objects.OfType<V1Job>().Any(j => j.Metadata.Name == w.Name && j.Spec.CompletionMode == "Indexed")),
            w.Template.Spec.Containers.SelectMany(c => c.Ports ?? []).ToList()));
        var scraper = new Dictionary<string, string> { ["app.kubernetes.io/name"] = "prometheus" };
        var others = new Outsiders(
            OwnStudent: new("a student pod of the user's own, labelled as a teacher client", ns.Metadata.Name, labels,
                new Dictionary<string, string> { ["app.kubernetes.io/name"] = "my-student", [TeacherClient] = "true" }, []),
            Unlabelled: new("a pod started with kubectl run", ns.Metadata.Name, labels, new Dictionary<string, string> { ["run"] = "debug" }, []),
            StudentElsewhere: new("the students' pod in another namespace", "elsewhere", NamespaceLabels("elsewhere"), pods["Job/students"].Labels, []),
            Scraper: new("a scraper in a namespace labelled for monitoring", "monitoring", NamespaceLabels("monitoring", new Dictionary<string, string> { [Monitoring] = "true" }), scraper, []),
            ScraperUnlabelledNamespace: new("a scraper in a namespace not labelled for monitoring", "observability", NamespaceLabels("observability"), scraper, []));
        return new Network(objects.OfType<V1NetworkPolicy>().ToList(), pods, others);
    }

    [Theory]
    [MemberData(nameof(Renderings), MemberType = typeof(Manifests))]
    public void ADefaultDenyIsolatesEveryPodOfTheNamespace(string overlay)
    {
        var network = Render(overlay);

        var deny = Single<V1NetworkPolicy>(network.Policies, DefaultDeny);

        Assert.True(Selects(deny.Spec.PodSelector, new Dictionary<string, string>()), "the default deny must select every pod, even one without labels");
        Assert.Contains("Ingress", deny.Spec.PolicyTypes);
        Assert.True(deny.Spec.Ingress is not { Count: > 0 }, "the default deny lets something in");
        foreach (var pod in network.Workloads.Values.Append(network.Others.OwnStudent).Append(network.Others.Unlabelled))
            Assert.Contains(deny, Isolating(network.Policies, pod));
        // A pod no policy speaks for reaches no port of any workload.
        foreach (var to in network.Workloads.Values)
            foreach (var port in to.Ports)
                network.AssertKeptOut(network.Others.Unlabelled, to, port.Name);
    }

    [Theory]
    [MemberData(nameof(Renderings), MemberType = typeof(Manifests))]
    public void EachNetworkPolicySelectsExactlyThePodsItMeansAndOpensOnlyTheirPorts(string overlay)
    {
        var network = Render(overlay);
        var meant = new Dictionary<string, string>
        {
            ["redis"] = "StatefulSet/redis",
            ["teacher-grpc"] = "Deployment/teacher",
            ["teacher-metrics"] = "Deployment/teacher",
        };

        Assert.Equal(meant.Keys.Append(DefaultDeny).Order(), network.Policies.Select(p => p.Metadata.Name).Order());
        foreach (var policy in network.Policies.Where(p => p.Metadata.Name != DefaultDeny))
        {
            var selected = network.Workloads.Values.Where(p => Selects(policy.Spec.PodSelector, p.Labels)).Select(p => p.What);
            Assert.Equal([meant[policy.Metadata.Name]], selected);
            var pod = network.Workloads[meant[policy.Metadata.Name]];
            foreach (var port in (policy.Spec.Ingress ?? []).SelectMany(r => r.Ports ?? []))
                Assert.Contains(pod.Ports, p => $"{p.ContainerPort}" == port.Port.Value || p.Name == port.Port.Value);
        }
    }

    [Theory]
    [MemberData(nameof(Renderings), MemberType = typeof(Manifests))]
    public void TheTeachersGrpcPortLetsInTheStudentsAndTheNamespacesJobsOnly(string overlay)
    {
        var network = Render(overlay);
        var (teacher, others) = (network.Teacher, network.Others);

        Assert.Equal("true", network.Students.Labels[TeacherClient]); // the label the docs tell a user's own student to carry
        network.AssertLetIn(network.Students, teacher, "grpc");
        network.AssertLetIn(network.TeacherTraining, teacher, "grpc");
        network.AssertLetIn(others.OwnStudent, teacher, "grpc");

        network.AssertKeptOut(network.Redis, teacher, "grpc");
        network.AssertKeptOut(teacher, teacher, "grpc");
        network.AssertKeptOut(others.Unlabelled, teacher, "grpc");
        network.AssertKeptOut(others.StudentElsewhere, teacher, "grpc"); // the label is no pass from another namespace
        network.AssertKeptOut(others.Scraper, teacher, "grpc");
    }

    [Theory]
    [MemberData(nameof(Overlays), MemberType = typeof(Manifests))]
    public void WithTeacherTlsThePlaintextProbePortLetsInNoPodAndTheTlsPortTheSameClientsAsBefore(string overlay)
    {
        var network = Render($"{overlay}+{TlsComponent}");
        var plaintext = Render(overlay);
        var teacher = network.Teacher;

        // The kubelet probes from the node, which the policies do not govern: no rule opens the port to a pod.
        Assert.Empty(RulesOpening(network.Policies, teacher, network.Port(teacher, "health")));
        foreach (var from in network.Workloads.Values.Concat(network.Others.All))
            network.AssertKeptOut(from, teacher, "health");
        // The policies are the overlay's own, and let the same pods reach the gRPC port.
        Assert.Equal(plaintext.Policies.Select(p => KubernetesYaml.Serialize(p)), network.Policies.Select(p => KubernetesYaml.Serialize(p)));
        foreach (var from in network.Workloads.Values.Concat(network.Others.All))
            Assert.Equal(Admits(plaintext.Policies, plaintext.Workloads.GetValueOrDefault(from.What) ?? from, plaintext.Teacher, plaintext.Port(plaintext.Teacher, "grpc")),
                Admits(network.Policies, from, teacher, network.Port(teacher, "grpc")));
    }

    [Theory]
    [MemberData(nameof(Renderings), MemberType = typeof(Manifests))]
    public void RedisLetsInTheTeachersOnly(string overlay)
    {
        var network = Render(overlay);

        network.AssertLetIn(network.Teacher, network.Redis, "redis");

        foreach (var from in new[] { network.Students, network.TeacherTraining }.Concat(network.Others.All))
            network.AssertKeptOut(from, network.Redis, "redis");
    }

    [Theory]
    [MemberData(nameof(Renderings), MemberType = typeof(Manifests))]
    public void TheTeachersMetricsPortLetsInOnlyNamespacesLabelledForMonitoring(string overlay)
    {
        var network = Render(overlay);
        var (teacher, others) = (network.Teacher, network.Others);

        network.AssertLetIn(others.Scraper, teacher, "metrics");

        network.AssertKeptOut(others.ScraperUnlabelledNamespace, teacher, "metrics");
        foreach (var from in new[] { network.Students, network.TeacherTraining, network.Redis, others.OwnStudent, others.Unlabelled })
            network.AssertKeptOut(from, teacher, "metrics");
        // Only by the namespace's label: no rule opening the port names pods, or this namespace, instead.
        var rules = RulesOpening(network.Policies, teacher, network.Port(teacher, "metrics")).ToList();
        Assert.NotEmpty(rules);
        foreach (var peer in rules.SelectMany(r => r.FromProperty ?? []))
        {
            Assert.NotNull(peer.NamespaceSelector);
            Assert.Equal(new Dictionary<string, string> { [Monitoring] = "true" }, peer.NamespaceSelector.MatchLabels);
            Assert.True(peer.PodSelector is null || Selects(peer.PodSelector, new Dictionary<string, string>()), "the metrics rule narrows the monitoring namespace's pods by label");
        }
    }

    [Fact]
    public void LabelSelectorsAreEvaluatedAsKubernetesDefinesThem()
    {
        var labels = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" };
        static V1LabelSelector Expression(string key, string op, params string[] values) =>
            new() { MatchExpressions = [new V1LabelSelectorRequirement { Key = key, OperatorProperty = op, Values = values.Length > 0 ? values : null }] };

        Assert.True(Selects(new V1LabelSelector(), labels)); // empty: everything
        Assert.True(Selects(new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["a"] = "1" } }, labels));
        Assert.False(Selects(new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["a"] = "2" } }, labels));
        Assert.False(Selects(new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["c"] = "1" } }, labels));
        Assert.True(Selects(Expression("a", "In", "1", "3"), labels));
        Assert.False(Selects(Expression("c", "In", "1"), labels));
        Assert.False(Selects(Expression("a", "NotIn", "1"), labels));
        Assert.True(Selects(Expression("a", "NotIn", "3"), labels));
        Assert.True(Selects(Expression("c", "NotIn", "1"), labels)); // NotIn holds where the label is absent
        Assert.True(Selects(Expression("b", "Exists"), labels));
        Assert.False(Selects(Expression("c", "Exists"), labels));
        Assert.True(Selects(Expression("c", "DoesNotExist"), labels));
        Assert.False(Selects(Expression("a", "DoesNotExist"), labels));
        var both = Expression("c", "Exists");
        both.MatchLabels = new Dictionary<string, string> { ["a"] = "1" };
        Assert.False(Selects(both, labels)); // matchLabels and expressions all hold, or the selector fails
    }

    [Fact]
    public void PoliciesAreEvaluatedAsKubernetesDefinesThem()
    {
        // Worked out by hand from the NetworkPolicy API reference.
        static Dictionary<string, string> L(string key, string value) => new() { [key] = value };
        var team = NamespaceLabels("team", L("team", "x"));
        PodOnTheNetwork Pod(string what, string ns, Dictionary<string, string> nsLabels, Dictionary<string, string> labels) => new(what, ns, nsLabels, labels, []);
        var db = Pod("db", "shop", NamespaceLabels("shop"), L("app", "db"));
        var web = Pod("web", "shop", NamespaceLabels("shop"), L("app", "web"));
        var api = Pod("api", "shop", NamespaceLabels("shop"), L("role", "api"));
        var apiElsewhere = Pod("api elsewhere", "other", NamespaceLabels("other"), L("role", "api"));
        var apiOfTeam = Pod("api of team x", "team", team, L("role", "api"));
        var webOfTeam = Pod("web of team x", "team", team, L("role", "web"));
        V1NetworkPolicy Policy(string ns, V1LabelSelector selects, string[]? types, params V1NetworkPolicyIngressRule[] rules) => new()
        {
            Metadata = new V1ObjectMeta { Name = "p", NamespaceProperty = ns },
            Spec = new V1NetworkPolicySpec { PodSelector = selects, PolicyTypes = types, Ingress = rules },
        };
        var dbPods = new V1LabelSelector { MatchLabels = L("app", "db") };
        var port5432 = new V1NetworkPolicyPort { Port = 5432, Protocol = "TCP" };

        Assert.True(Admits([], api, db, 5432)); // no policy: open

        var sameNamespace = Policy("shop", dbPods, null, new V1NetworkPolicyIngressRule
        {
            FromProperty = [new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector { MatchLabels = L("role", "api") } }],
            Ports = [port5432],
        });
        Assert.True(Admits([sameNamespace], api, db, 5432));
        Assert.False(Admits([sameNamespace], api, db, 5433));
        Assert.False(Admits([sameNamespace], web, db, 5432));
        Assert.False(Admits([sameNamespace], apiElsewhere, db, 5432)); // a podSelector alone: the policy's namespace only
        Assert.True(Admits([sameNamespace], web, web, 80)); // web is selected by no policy

        var teamApis = Policy("shop", dbPods, ["Ingress"], new V1NetworkPolicyIngressRule
        {
            FromProperty = [new V1NetworkPolicyPeer { NamespaceSelector = new V1LabelSelector { MatchLabels = L("team", "x") }, PodSelector = new V1LabelSelector { MatchLabels = L("role", "api") } }],
        });
        Assert.True(Admits([teamApis], apiOfTeam, db, 1)); // both selectors, no ports: any port
        Assert.False(Admits([teamApis], webOfTeam, db, 1));
        Assert.False(Admits([teamApis], apiElsewhere, db, 1));
        Assert.False(Admits([teamApis], api, db, 1)); // its namespace lacks the label
        Assert.True(Admits([teamApis, sameNamespace], api, db, 5432)); // policies add up

        Assert.True(Admits([Policy("other", dbPods, null)], api, db, 5432)); // a policy of another namespace isolates nothing here
        Assert.True(Admits([Policy("shop", dbPods, ["Egress"])], api, db, 5432)); // egress only: ingress stays open
        Assert.False(Admits([Policy("shop", new V1LabelSelector(), ["Ingress"])], api, db, 5432)); // a default deny
    }
}
