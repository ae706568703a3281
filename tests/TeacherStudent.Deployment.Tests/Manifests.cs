using System.Text.RegularExpressions;
using k8s.Models;

namespace TeacherStudent.Deployment.Tests;

/// <summary>Finding things in a list of rendered, typed Kubernetes objects.</summary>
public static class Manifests
{
    /// <summary>The kustomizations that are applied: the base is only ever applied through one of them.</summary>
    public static TheoryData<string> Overlays() => ["overlays/cpu", "overlays/gpu"];

    public static T Single<T>(IEnumerable<object> objects, string name) where T : IMetadata<V1ObjectMeta> =>
        objects.OfType<T>().Single(o => o.Metadata.Name == name);

    public static IDictionary<string, string> ConfigMap(IEnumerable<object> objects, string name) => Single<V1ConfigMap>(objects, name).Data;

    /// <summary>Every workload with a pod template: its kind and name, pod template and selector (null for a Job).</summary>
    public static IEnumerable<(string Kind, string Name, V1PodTemplateSpec Template, V1LabelSelector? Selector)> Workloads(IEnumerable<object> objects)
    {
        foreach (var o in objects)
        {
            switch (o)
            {
                case V1Deployment d: yield return ("Deployment", d.Metadata.Name, d.Spec.Template, d.Spec.Selector); break;
                case V1StatefulSet s: yield return ("StatefulSet", s.Metadata.Name, s.Spec.Template, s.Spec.Selector); break;
                case V1Job j: yield return ("Job", j.Metadata.Name, j.Spec.Template, j.Spec.Selector); break;
            }
        }
    }

    /// <summary>Every container and init container of every workload.</summary>
    public static IEnumerable<(string Workload, V1Container Container)> Containers(IEnumerable<object> objects) =>
        Workloads(objects).SelectMany(w => (w.Template.Spec.InitContainers ?? []).Concat(w.Template.Spec.Containers).Select(c => ($"{w.Kind}/{w.Name}", c)));

    /// <summary>True when every label of <paramref name="selector"/> is on <paramref name="labels"/>.</summary>
    public static bool Selects(IDictionary<string, string>? selector, IDictionary<string, string>? labels) =>
        selector is { Count: > 0 } && labels is not null && selector.All(s => labels.TryGetValue(s.Key, out var v) && v == s.Value);

    /// <summary>The environment a container gets from its env, its envFrom ConfigMaps and the Secrets the user creates.</summary>
    public static Dictionary<string, string> Environment(IEnumerable<object> objects, V1Container container)
    {
        var environment = new Dictionary<string, string>();
        foreach (var from in container.EnvFrom ?? [])
        {
            if (from.ConfigMapRef is { } configMap)
                foreach (var (k, v) in ConfigMap(objects, configMap.Name)) environment[k] = v;
            if (from.SecretRef is { } secret)
                foreach (var (k, v) in CreatedSecret(secret.Name).Data) environment[k] = v;
        }
        foreach (var variable in container.Env ?? [])
            environment[variable.Name] = variable.Value ?? (variable.ValueFrom?.SecretKeyRef is { } key ? SecretValue(key) : "");
        return environment;
    }

    /// <summary>A Secret the manifests name but do not hold: its namespace, and its keys with a stand-in value each.</summary>
    public sealed record UserSecret(string Namespace, Dictionary<string, string> Data);

    /// <summary>
    /// The Secret <paramref name="name"/> as the command in k8s/README.md creates it
    /// (<c>kubectl -n NAMESPACE create secret generic NAME --from-literal=KEY=... ...</c>): the
    /// manifests only name it, so that command is what the keys they read must be in.
    /// </summary>
    public static UserSecret CreatedSecret(string name)
    {
        // Continuation lines joined, as the shell reads them.
        var commands = File.ReadAllText(Path.Combine(Kustomize.Root, "README.md")).Replace("\\\n", " ").Split('\n');
        var command = commands.FirstOrDefault(c => Regex.IsMatch(c, $@"\bcreate secret generic {Regex.Escape(name)}\s"))
            ?? throw new Xunit.Sdk.XunitException($"k8s/README.md has no command that creates the Secret {name}.");
        var ns = Regex.Match(command, @"kubectl\s+(?:-n|--namespace)[ =](\S+)");
        Assert.True(ns.Success, $"k8s/README.md creates the Secret {name} without naming its namespace: {command}");
        var keys = Regex.Matches(command, @"--from-literal=([A-Za-z0-9_.-]+)=").Select(m => m.Groups[1].Value).ToList();
        Assert.True(keys.Count > 0, $"k8s/README.md creates the Secret {name} with no key: {command}");
        return new UserSecret(ns.Groups[1].Value, keys.ToDictionary(k => k, _ => "a-key-the-user-made"));
    }

    private static string SecretValue(V1SecretKeySelector key)
    {
        var data = CreatedSecret(key.Name).Data;
        Assert.True(data.ContainsKey(key.Key), $"the Secret {key.Name} that k8s/README.md creates has no key {key.Key}");
        return data[key.Key];
    }
}
