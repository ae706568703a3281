using k8s.Models;

namespace TeacherStudent.Deployment.Tests;

/// <summary>Finding things in a list of rendered, typed Kubernetes objects.</summary>
public static class Manifests
{
    /// <summary>The kustomizations that are applied: the base is only ever applied through one of them.</summary>
    public static TheoryData<string> Overlays() => ["overlays/cpu", "overlays/gpu"];

    /// <summary>The optional component that turns on TLS between the students and the teachers.</summary>
    public const string TlsComponent = "components/teacher-tls";

    /// <summary>The components a user may add to an overlay.</summary>
    public static TheoryData<string> Components() => [TlsComponent];

    /// <summary>
    /// Every overlay, alone and with each component (<see cref="Kustomize.Render(string)"/>'s
    /// "overlay+component"): for what must hold whichever a user applies.
    /// </summary>
    public static TheoryData<string> Renderings()
    {
        var renderings = new TheoryData<string>();
        foreach (var overlay in ((IEnumerable<object[]>)Overlays()).Select(row => (string)row[0]))
        {
            renderings.Add(overlay);
            foreach (var component in ((IEnumerable<object[]>)Components()).Select(row => (string)row[0])) renderings.Add($"{overlay}+{component}");
        }
        return renderings;
    }

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

    /// <summary>
    /// Every key of a Secret that a workload reads: as a variable (secretKeyRef), or as the file of a
    /// mounted Secret that a variable names (a value under the mount's path).
    /// </summary>
    public static HashSet<(string Secret, string Key)> SecretKeysRead(IEnumerable<object> objects)
    {
        var read = new HashSet<(string Secret, string Key)>();
        foreach (var (_, _, template, _) in Workloads(objects))
        {
            var secrets = (template.Spec.Volumes ?? []).Where(v => v.Secret is not null).ToDictionary(v => v.Name, v => v.Secret.SecretName);
            foreach (var container in (template.Spec.InitContainers ?? []).Concat(template.Spec.Containers))
            {
                foreach (var variable in container.Env ?? [])
                    if (variable.ValueFrom?.SecretKeyRef is { } key) read.Add((key.Name, key.Key));
                foreach (var mount in (container.VolumeMounts ?? []).Where(m => secrets.ContainsKey(m.Name)))
                    foreach (var variable in (container.Env ?? []).Where(v => v.Value?.StartsWith(mount.MountPath + "/", StringComparison.Ordinal) == true))
                        read.Add((secrets[mount.Name], variable.Value[(mount.MountPath.Length + 1)..]));
            }
        }
        return read;
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
