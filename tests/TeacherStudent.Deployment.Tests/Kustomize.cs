using System.Collections.Concurrent;
using k8s;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// The kustomizations of k8s/ (alone, or with components added as a user adds them to an
/// overlay), rendered by <c>kubectl kustomize</c> (<see cref="Kubectl"/>), the
/// tool a user applies them with; only where no kubectl renders, by the tests' own
/// <see cref="PartialKustomize"/>, and <see cref="Renderer"/> says which, for the test output. What
/// is rendered goes through KubernetesClient's typed loader
/// (<see cref="KubernetesYaml.LoadAllFromString"/>, strict: a field the API does not have fails).
/// </summary>
public static class Kustomize
{
    // kubectl takes a second or more to start on a busy machine: each kustomization is rendered
    // once per test run, and every caller gets objects of its own from the text.
    private static readonly ConcurrentDictionary<string, Lazy<string>> Rendered = new();

    public static string Root => Path.Combine(Builds.RepositoryRoot, "k8s");

    /// <summary>Which renderer runs here, in a sentence for the test output.</summary>
    public static string Renderer => Kubectl.Path is { } kubectl
        ? $"k8s/ rendered by {kubectl} kustomize (kustomize {Kubectl.KustomizeVersion})"
        : $"k8s/ rendered by the tests' partial kustomize (PartialKustomize), not by kubectl: {Kubectl.Absence}";

    /// <summary>
    /// The typed objects of <paramref name="rendering"/> (relative to k8s/): a kustomization
    /// ("overlays/cpu"), or one with components added as a user adds them to an overlay, joined by
    /// '+' ("overlays/cpu+components/teacher-tls").
    /// </summary>
    public static List<object> Render(string rendering) => Render(Root, rendering);

    /// <summary>The typed objects of <paramref name="rendering"/> (relative to <paramref name="root"/>), as <see cref="Render(string)"/>.</summary>
    public static List<object> Render(string root, string rendering)
    {
        var key = $"{Path.GetFullPath(root)}|{rendering}";
        var yaml = Rendered.GetOrAdd(key, _ => new Lazy<string>(() =>
            InFolder(root, rendering, folder => Kubectl.Path is null ? PartialKustomize.Render(folder) : Kubectl.Kustomize(folder)))).Value;
        return KubernetesYaml.LoadAllFromString(yaml, strict: true);
    }

    /// <summary>
    /// <paramref name="render"/> run on the folder that renders <paramref name="rendering"/>: the
    /// kustomization's own, or, where components are added, a temporary overlay of the kustomization
    /// with those components, as a user writes one (resources: [overlay], components: [...]).
    /// </summary>
    public static T InFolder<T>(string root, string rendering, Func<string, T> render)
    {
        var parts = rendering.Split('+');
        var kustomization = Path.GetFullPath(Path.Combine(root, parts[0]));
        if (parts.Length == 1) return render(kustomization);
        using var overlay = new TemporaryDirectory("overlay-with-components");
        // kustomize refuses absolute paths.
        string Relative(string part) => Path.GetRelativePath(overlay.Path, Path.GetFullPath(Path.Combine(root, part))).Replace('\\', '/');
        string[] lines =
        [
            "apiVersion: kustomize.config.k8s.io/v1beta1",
            "kind: Kustomization",
            "resources:",
            $"  - {Relative(parts[0])}",
            "components:",
            .. parts[1..].Select(c => $"  - {Relative(c)}"),
        ];
        File.WriteAllText(Path.Combine(overlay.Path, "kustomization.yaml"), string.Join("\n", lines) + "\n");
        return render(overlay.Path);
    }

    /// <summary>The kustomization file of <paramref name="directory"/> as a map.</summary>
    public static Dictionary<object, object> Kustomization(string directory) =>
        (Dictionary<object, object>)LoadDocuments(Path.Combine(directory, "kustomization.yaml")).Single();

    /// <summary>Every document of a YAML file, as plain maps, lists and strings.</summary>
    public static List<object> LoadDocuments(string path)
    {
        var parser = new Parser(new StringReader(File.ReadAllText(path)));
        var deserializer = new DeserializerBuilder().Build();
        var documents = new List<object>();
        parser.Consume<StreamStart>();
        while (parser.Accept<DocumentStart>(out _)) documents.Add(deserializer.Deserialize<object>(parser)!);
        return documents;
    }

    /// <summary>The image without its tag.</summary>
    public static string ImageName(string image) => image.LastIndexOf(':') > image.LastIndexOf('/') ? image[..image.LastIndexOf(':')] : image;
}
