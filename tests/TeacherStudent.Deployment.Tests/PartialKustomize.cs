using YamlDotNet.Serialization;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// The fallback where kubectl is not installed: renders a kustomization of k8s/ the way
/// <c>kubectl kustomize</c> does, for the features these manifests use and nothing more:
/// resources (files and folders), components (a <c>kind: Component</c> folder whose patches apply to
/// the objects gathered so far, before the kustomization's own), strategic-merge patches from a file
/// (maps merged key by key, lists of named items merged by name, other lists replaced), JSON 6902
/// patches (add, replace) on a target kind, the images transformer (newTag), and the namespace.
/// Anything else in a kustomization.yaml (a generator, say) fails here, so the tests cannot quietly
/// render something other than what kubectl would; where kubectl is there, a test checks that both
/// render the same.
/// </summary>
public static class PartialKustomize
{
    private static readonly string[] KnownKeys = ["apiVersion", "kind", "namespace", "resources", "components", "images", "patches"];

    // What a component may hold here: patches, nothing else.
    private static readonly string[] KnownComponentKeys = ["apiVersion", "kind", "patches"];

    /// <summary>The rendered objects of the kustomization in <paramref name="directory"/>, as one multi-document YAML string.</summary>
    public static string Render(string directory)
    {
        var serializer = new SerializerBuilder().Build();
        return string.Join("---\n", RenderRaw(directory).Select(d => serializer.Serialize(d)));
    }

    /// <summary>The objects of a kustomization as plain YAML maps, patched.</summary>
    private static List<Dictionary<object, object>> RenderRaw(string directory)
    {
        var k = Kustomize.Kustomization(directory);
        var unknown = k.Keys.Cast<string>().Except(KnownKeys).ToArray();
        if (unknown.Length > 0) throw new NotSupportedException($"{directory}/kustomization.yaml uses {string.Join(", ", unknown)}, which this renderer does not know.");

        var objects = new List<Dictionary<object, object>>();
        foreach (string resource in List(k, "resources"))
        {
            var path = Path.GetFullPath(Path.Combine(directory, resource));
            if (Directory.Exists(path)) objects.AddRange(RenderRaw(path));
            else objects.AddRange(Kustomize.LoadDocuments(path).Cast<Dictionary<object, object>>());
        }
        // As kustomize orders them: the resources, then each component, then this kustomization's own transformers.
        foreach (string component in List(k, "components"))
        {
            var path = Path.GetFullPath(Path.Combine(directory, component));
            var c = Kustomize.Kustomization(path);
            if (!Equals(c.GetValueOrDefault("kind"), "Component")) throw new InvalidOperationException($"{path}/kustomization.yaml is listed as a component and is no kind: Component.");
            var unknownInComponent = c.Keys.Cast<string>().Except(KnownComponentKeys).ToArray();
            if (unknownInComponent.Length > 0) throw new NotSupportedException($"{path}/kustomization.yaml uses {string.Join(", ", unknownInComponent)}, which this renderer does not know in a component.");
            Patch(objects, path, List(c, "patches"));
        }
        Patch(objects, directory, List(k, "patches"));
        foreach (Dictionary<object, object> image in List(k, "images"))
            foreach (var container in objects.SelectMany(Containers))
                if (container["image"] is string current && Kustomize.ImageName(current) == (string)image["name"])
                    container["image"] = $"{image["name"]}:{image["newTag"]}";
        if (k.TryGetValue("namespace", out var ns))
            foreach (var o in objects.Where(o => Kind(o) != "Namespace"))
                ((Dictionary<object, object>)o["metadata"])["namespace"] = ns;
        return objects;
    }

    /// <summary>Applies <paramref name="patches"/> of the kustomization in <paramref name="directory"/> to <paramref name="objects"/>.</summary>
    private static void Patch(List<Dictionary<object, object>> objects, string directory, List<object> patches)
    {
        foreach (Dictionary<object, object> patch in patches)
        {
            if (patch.TryGetValue("path", out var file))
            {
                var partial = (Dictionary<object, object>)Kustomize.LoadDocuments(Path.Combine(directory, (string)file)).Single();
                var target = objects.Single(o => Kind(o) == Kind(partial) && Name(o) == Name(partial));
                StrategicMerge(target, partial);
            }
            else
            {
                var target = (Dictionary<object, object>)patch["target"];
                var operations = (List<object>)new DeserializerBuilder().Build().Deserialize<object>((string)patch["patch"]);
                var matching = objects.Where(o => Kind(o) == (string)target["kind"] && (!target.ContainsKey("name") || Name(o) == (string)target["name"])).ToList();
                Assert.NotEmpty(matching);
                foreach (var o in matching)
                    foreach (Dictionary<object, object> operation in operations) Json6902(o, operation);
            }
        }
    }

    private static string Kind(Dictionary<object, object> o) => (string)o["kind"];

    private static string Name(Dictionary<object, object> o) => (string)((Dictionary<object, object>)o["metadata"])["name"];

    private static IEnumerable<Dictionary<object, object>> Containers(Dictionary<object, object> o)
    {
        if (!o.TryGetValue("spec", out var spec)) yield break;
        var podSpec = Kind(o) == "Pod" ? spec : Get(spec, "template", "spec");
        foreach (var key in new[] { "containers", "initContainers" })
            if (podSpec is Dictionary<object, object> p && p.TryGetValue(key, out var list))
                foreach (Dictionary<object, object> c in (List<object>)list) yield return c;
    }

    private static object? Get(object node, params string[] path)
    {
        foreach (var key in path)
            node = node is Dictionary<object, object> map && map.TryGetValue(key, out var next) ? next : null!;
        return node;
    }

    private static List<object> List(Dictionary<object, object> map, string key) =>
        map.TryGetValue(key, out var value) ? (List<object>)value : [];

    /// <summary>Kubernetes' strategic merge, for maps and for lists of items that have a name.</summary>
    private static void StrategicMerge(Dictionary<object, object> target, Dictionary<object, object> patch)
    {
        foreach (var (key, value) in patch)
        {
            if (value is Dictionary<object, object> patchMap && target.TryGetValue(key, out var existing) && existing is Dictionary<object, object> targetMap)
            {
                StrategicMerge(targetMap, patchMap);
            }
            else if (value is List<object> patchList && target.TryGetValue(key, out var existingList) && existingList is List<object> targetList
                     && patchList.All(i => i is Dictionary<object, object> d && d.ContainsKey("name")))
            {
                // As kustomize orders the result: the patch's items in its order (each merged into the
                // item of its name, or new), then the items the patch does not name, in their order.
                var unnamed = targetList.Cast<Dictionary<object, object>>().ToList();
                var merged = new List<object>();
                foreach (Dictionary<object, object> item in patchList)
                {
                    var same = unnamed.FirstOrDefault(t => Equals(t["name"], item["name"]));
                    if (same is null) merged.Add(item);
                    else
                    {
                        StrategicMerge(same, item);
                        merged.Add(same);
                        unnamed.Remove(same);
                    }
                }
                targetList.Clear();
                targetList.AddRange(merged.Concat(unnamed));
            }
            else
            {
                target[key] = value;
            }
        }
    }

    private static void Json6902(Dictionary<object, object> target, Dictionary<object, object> operation)
    {
        var op = (string)operation["op"];
        if (op is not ("add" or "replace")) throw new NotSupportedException($"JSON patch op '{op}' is not rendered here.");
        var keys = ((string)operation["path"]).Split('/', StringSplitOptions.RemoveEmptyEntries);
        object node = target;
        foreach (var key in keys[..^1])
            node = node is List<object> list ? list[int.Parse(key)] : ((Dictionary<object, object>)node)[key];
        var map = (Dictionary<object, object>)node;
        if (op == "replace") Assert.True(map.ContainsKey(keys[^1]), $"replace of a missing {operation["path"]}");
        map[keys[^1]] = operation["value"];
    }
}
