using k8s.Models;

namespace TeacherStudent.Deployment.Tests;

/// <summary>A pod as a NetworkPolicy sees it: its namespace and that namespace's labels, its own labels, and its ports.</summary>
public sealed record PodOnTheNetwork(string What, string Namespace, IDictionary<string, string> NamespaceLabels, IDictionary<string, string> Labels, IList<V1ContainerPort> Ports)
{
    public override string ToString() => $"{What} (namespace {Namespace})";
}

/// <summary>
/// Kubernetes' NetworkPolicy semantics for ingress, written out from the API reference so that the
/// manifests' policies can be evaluated without a cluster: label selectors (matchLabels and
/// matchExpressions), which pods a policy isolates, and whether a connection from one pod to a port
/// of another is let in. ipBlock peers are not modelled (they name addresses, not pods), and a rule
/// holding one fails the evaluation.
/// </summary>
public static class NetworkPolicies
{
    /// <summary>
    /// True when <paramref name="selector"/> selects <paramref name="labels"/>: every matchLabels pair
    /// present, and every expression true (In: present with one of the values; NotIn: absent, or
    /// present with none of them; Exists; DoesNotExist). An empty selector selects everything.
    /// </summary>
    public static bool Selects(V1LabelSelector selector, IDictionary<string, string> labels)
    {
        foreach (var (key, value) in selector.MatchLabels ?? new Dictionary<string, string>())
            if (!labels.TryGetValue(key, out var v) || v != value) return false;
        foreach (var expression in selector.MatchExpressions ?? [])
        {
            var present = labels.TryGetValue(expression.Key, out var v);
            var values = expression.Values ?? [];
            var holds = expression.OperatorProperty switch
            {
                "In" => present && values.Contains(v!),
                "NotIn" => !present || !values.Contains(v!),
                "Exists" => present,
                "DoesNotExist" => !present,
                _ => throw new NotSupportedException($"label selector operator '{expression.OperatorProperty}' is not one Kubernetes has"),
            };
            if (!holds) return false;
        }
        return true;
    }

    /// <summary>The policies that isolate <paramref name="pod"/> for ingress: in its namespace, selecting it, of type Ingress.</summary>
    public static IEnumerable<V1NetworkPolicy> Isolating(IEnumerable<V1NetworkPolicy> policies, PodOnTheNetwork pod) =>
        policies.Where(p => p.Metadata.NamespaceProperty == pod.Namespace && IsIngress(p) && Selects(p.Spec.PodSelector ?? new V1LabelSelector(), pod.Labels));

    /// <summary>
    /// True when a connection from <paramref name="from"/> to TCP <paramref name="port"/> of
    /// <paramref name="to"/> is let in: <paramref name="to"/> is isolated by no policy, or one of the
    /// policies isolating it has a rule whose ports and peers both admit it (policies add up).
    /// </summary>
    public static bool Admits(IEnumerable<V1NetworkPolicy> policies, PodOnTheNetwork from, PodOnTheNetwork to, int port)
    {
        var isolating = Isolating(policies, to).ToList();
        if (isolating.Count == 0) return true;
        return isolating.Any(policy => (policy.Spec.Ingress ?? []).Any(rule =>
            (rule.Ports is not { Count: > 0 } || rule.Ports.Any(p => PortMatches(p, to, port)))
            && (rule.FromProperty is not { Count: > 0 } || rule.FromProperty.Any(peer => PeerMatches(peer, policy, from)))));
    }

    /// <summary>The rules of every policy isolating <paramref name="to"/> that open TCP <paramref name="port"/>.</summary>
    public static IEnumerable<V1NetworkPolicyIngressRule> RulesOpening(IEnumerable<V1NetworkPolicy> policies, PodOnTheNetwork to, int port) =>
        Isolating(policies, to).SelectMany(p => p.Spec.Ingress ?? []).Where(r => r.Ports is not { Count: > 0 } || r.Ports.Any(p => PortMatches(p, to, port)));

    /// <summary>
    /// The labels a pod of this workload carries once Kubernetes has made it: its template's, and
    /// those the controller adds (a Job's name and index, a StatefulSet's pod name, the hashes;
    /// <c>batch.kubernetes.io/job-name</c> since Kubernetes 1.27).
    /// </summary>
    public static Dictionary<string, string> PodLabels(string kind, string name, V1PodTemplateSpec template, bool indexed = false)
    {
        var labels = new Dictionary<string, string>(template.Metadata?.Labels ?? new Dictionary<string, string>());
        switch (kind)
        {
            case "Job":
                labels["batch.kubernetes.io/job-name"] = name;
                labels["job-name"] = name;
                labels["batch.kubernetes.io/controller-uid"] = "0b9c1f3e-job-uid";
                labels["controller-uid"] = "0b9c1f3e-job-uid";
                if (indexed) labels["batch.kubernetes.io/job-completion-index"] = "0";
                break;
            case "StatefulSet":
                labels["statefulset.kubernetes.io/pod-name"] = $"{name}-0";
                labels["apps.kubernetes.io/pod-index"] = "0";
                labels["controller-revision-hash"] = $"{name}-5d4f8b7c9";
                break;
            case "Deployment":
                labels["pod-template-hash"] = "6b7f9c8d5";
                break;
        }
        return labels;
    }

    /// <summary>The labels of namespace <paramref name="name"/>: its own, and the name label Kubernetes (1.21 and later) sets on every namespace.</summary>
    public static Dictionary<string, string> NamespaceLabels(string name, IDictionary<string, string>? own = null) =>
        new(own ?? new Dictionary<string, string>()) { ["kubernetes.io/metadata.name"] = name };

    private static bool IsIngress(V1NetworkPolicy policy) =>
        policy.Spec.PolicyTypes is not { Count: > 0 } || policy.Spec.PolicyTypes.Contains("Ingress");

    private static bool PortMatches(V1NetworkPolicyPort rule, PodOnTheNetwork to, int port)
    {
        if ((rule.Protocol ?? "TCP") != "TCP") return false;
        if (rule.Port is null) return true;
        var value = rule.Port.Value;
        if (int.TryParse(value, out var number)) return port >= number && port <= (rule.EndPort ?? number);
        // A named port: the port of that name on the pod the connection goes to.
        return to.Ports.Any(p => p.Name == value && p.ContainerPort == port);
    }

    // A peer with a podSelector only means pods of the policy's own namespace; with a
    // namespaceSelector only, every pod of the namespaces it selects; with both, those pods there.
    private static bool PeerMatches(V1NetworkPolicyPeer peer, V1NetworkPolicy policy, PodOnTheNetwork from)
    {
        if (peer.IpBlock is not null) throw new NotSupportedException($"NetworkPolicy {policy.Metadata.Name}: an ipBlock peer is not evaluated here");
        if (peer.PodSelector is null && peer.NamespaceSelector is null) throw new InvalidOperationException($"NetworkPolicy {policy.Metadata.Name}: a peer selects nothing");
        var namespaceMatches = peer.NamespaceSelector is null
            ? from.Namespace == policy.Metadata.NamespaceProperty
            : Selects(peer.NamespaceSelector, from.NamespaceLabels);
        return namespaceMatches && (peer.PodSelector is null || Selects(peer.PodSelector, from.Labels));
    }
}
