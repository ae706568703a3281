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

    /// <summary>A Secret the manifests name but do not hold: its namespace, and its keys with the values the user's commands give them.</summary>
    public sealed record UserSecret(string Namespace, Dictionary<string, string> Data);

    /// <summary>
    /// The Secret <paramref name="name"/> as the commands in k8s/README.md create it (run against a
    /// stand-in kubectl, <see cref="DocumentedSecrets"/>): the manifests only name it, so those
    /// commands are what the keys they read must be in.
    /// </summary>
    public static UserSecret CreatedSecret(string name)
    {
        var secret = DocumentedSecrets.AsK8sReadmeCreatesThem.SingleOrDefault(s => s.Name == name)
            ?? throw new Xunit.Sdk.XunitException($"k8s/README.md ('{DocumentedSecrets.CreationSection}') has no command that creates the Secret {name}.");
        return new UserSecret(secret.Namespace, secret.Data);
    }

    private static string SecretValue(V1SecretKeySelector key)
    {
        var data = CreatedSecret(key.Name).Data;
        Assert.True(data.ContainsKey(key.Key), $"the Secret {key.Name} that k8s/README.md creates has no key {key.Key}");
        return data[key.Key];
    }
}
