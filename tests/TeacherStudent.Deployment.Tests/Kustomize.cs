using System.Collections.Concurrent;
using k8s;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// The kustomizations of k8s/, rendered by <c>kubectl kustomize</c> (<see cref="Kubectl"/>), the
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

    /// <summary>The typed objects of the kustomization in <paramref name="directory"/> (relative to k8s/).</summary>
    public static List<object> Render(string directory) => Render(Root, directory);

    /// <summary>The typed objects of the kustomization in <paramref name="directory"/> (relative to <paramref name="root"/>).</summary>
    public static List<object> Render(string root, string directory)
    {
        var path = Path.GetFullPath(Path.Combine(root, directory));
        var yaml = Rendered.GetOrAdd(path, p => new Lazy<string>(() => Kubectl.Path is null ? PartialKustomize.Render(p) : Kubectl.Kustomize(p))).Value;
        return KubernetesYaml.LoadAllFromString(yaml, strict: true);
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
