using System.Diagnostics;
using k8s;
using k8s.Models;
using Xunit.Abstractions;
using YamlDotNet.Serialization;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// The rendering the manifest tests stand on: every kustomization of k8s/, and every overlay with
/// each component added, renders from the files a fresh clone has, with nothing the user must add
/// first, and the fallback renderer agrees with kubectl wherever both can run.
/// </summary>
public sealed class KustomizeRenderingTests(ITestOutputHelper output)
{
    [Fact]
    public void EveryKustomizationRendersFromTheFilesGitTracksAlone()
    {
        // Arrange: a copy of k8s/ with only the files git tracks, which is what a fresh clone has.
        output.WriteLine(Kustomize.Renderer);
        using var checkout = new TemporaryDirectory("fresh-k8s");
        var fresh = Path.Combine(checkout.Path, "k8s");
        foreach (var file in TrackedFiles("k8s"))
        {
            var copy = Path.Combine(checkout.Path, file);
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(Path.Combine(Builds.RepositoryRoot, file), copy);
        }
        var kustomizations = Kustomizations();
        Assert.Superset(new HashSet<string> { "base", "overlays/cpu", "overlays/gpu" }, kustomizations.ToHashSet());
        Assert.Contains(Manifests.TlsComponent, Components());

        foreach (var kustomization in kustomizations.Concat(WithComponents()))
        {
            // Act
            var objects = Kustomize.Render(fresh, kustomization);

            // Assert: the whole application, in its namespace, with no Secret written down, and
            // the same objects as the work tree renders (so nothing untracked went into those).
            Assert.Contains(objects.OfType<V1Deployment>(), d => d.Metadata.Name == "teacher");
            Assert.All(objects.Cast<IMetadata<V1ObjectMeta>>().Where(o => o is not V1Namespace),
                o => Assert.Equal("teacherstudent", o.Metadata.NamespaceProperty));
            Assert.Empty(objects.OfType<V1Secret>());
            Assert.Equal(ByName(Kustomize.Render(kustomization)), ByName(objects));
            output.WriteLine($"{kustomization}: {objects.Count} objects");
        }
    }

    [Fact]
    public void TheOverlaysTheManifestTestsCheckAreEveryOverlay()
    {
        var overlays = Kustomizations().Where(k => k.StartsWith("overlays/", StringComparison.Ordinal)).Order();

        Assert.Equal(overlays, ((IEnumerable<object[]>)Manifests.Overlays()).Select(row => (string)row[0]).Order());
    }

    [Fact]
    public void TheComponentsTheManifestTestsCheckAreEveryComponent()
    {
        Assert.Equal(Components(), ((IEnumerable<object[]>)Manifests.Components()).Select(row => (string)row[0]).Order());
        // Each is added by a user, to an overlay: none is part of what the overlays render.
        foreach (var overlay in Kustomizations())
            Assert.False(Kustomize.Kustomization(Path.Combine(Kustomize.Root, overlay)).ContainsKey("components"), $"{overlay} adds a component");
    }

    [Fact]
    public void ThePartialRendererRendersWhatKubectlRenders()
    {
        output.WriteLine(Kustomize.Renderer);
        foreach (var kustomization in Kustomizations().Concat(WithComponents()))
        {
            var partial = ByName(KubernetesYaml.LoadAllFromString(
                Kustomize.InFolder(Kustomize.Root, kustomization, PartialKustomize.Render), strict: true));

            Assert.Contains(partial.Keys, k => k.StartsWith("Deployment/", StringComparison.Ordinal));
            if (Kubectl.Path is null)
            {
                output.WriteLine($"{kustomization}: rendered by the partial renderer only; no kubectl to compare it with ({Kubectl.Absence})");
                continue;
            }
            var real = ByName(KubernetesYaml.LoadAllFromString(Kustomize.InFolder(Kustomize.Root, kustomization, Kubectl.Kustomize), strict: true));
            Assert.Equal(real.Keys.Order(), partial.Keys.Order());
            foreach (var (key, yaml) in real)
                Assert.True(yaml == partial[key], $"{kustomization} {key}: kubectl renders\n{yaml}\nthe partial renderer\n{partial[key]}");
            output.WriteLine($"{kustomization}: the same {real.Count} objects from both");
        }
    }

    /// <summary>Every folder of k8s/ with a kustomization.yaml of kind Kustomization (not Component), relative to k8s/, with forward slashes.</summary>
    private static List<string> Kustomizations() => Folders("Kustomization");

    /// <summary>Every folder of k8s/ with a kustomization.yaml of kind Component: rendered only as part of an overlay.</summary>
    private static List<string> Components() => Folders("Component");

    /// <summary>Every overlay with each component added ("overlays/cpu+components/teacher-tls").</summary>
    private static IEnumerable<string> WithComponents() =>
        Kustomizations().Where(k => k.StartsWith("overlays/", StringComparison.Ordinal)).SelectMany(o => Components().Select(c => $"{o}+{c}"));

    private static List<string> Folders(string kind) =>
        Directory.GetFiles(Kustomize.Root, "kustomization.yaml", SearchOption.AllDirectories)
            .Select(Path.GetDirectoryName)
            .Where(d => (Kustomize.Kustomization(d!).GetValueOrDefault("kind") as string ?? "Kustomization") == kind)
            .Select(d => Path.GetRelativePath(Kustomize.Root, d!).Replace('\\', '/'))
            .Order().ToList();

    /// <summary>Each object as typed YAML with its map keys in order (kubectl sorts them, a file need not), by kind, namespace and name.</summary>
    private static SortedDictionary<string, string> ByName(IEnumerable<object> objects) =>
        new(objects.Cast<IKubernetesObject<V1ObjectMeta>>().ToDictionary(
            o => $"{o.Kind}/{o.Metadata.NamespaceProperty}/{o.Metadata.Name}",
            o => new SerializerBuilder().Build().Serialize(Sorted(new DeserializerBuilder().Build().Deserialize<object>(KubernetesYaml.Serialize(o))))),
            StringComparer.Ordinal);

    private static object? Sorted(object? node) => node switch
    {
        Dictionary<object, object> map => new SortedDictionary<string, object?>(map.ToDictionary(e => (string)e.Key, e => Sorted(e.Value)), StringComparer.Ordinal),
        List<object> list => list.Select(Sorted).ToList(),
        _ => node,
    };

    /// <summary>
    /// The files under <paramref name="folder"/> that git tracks, relative to the repository root;
    /// every file there when this is no git work tree (a source archive), and the output says so.
    /// </summary>
    private List<string> TrackedFiles(string folder)
    {
        var info = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-C", Builds.RepositoryRoot, "ls-files", "-z", "--", folder }) info.ArgumentList.Add(argument);
        string[] files;
        try
        {
            using var process = Process.Start(info)!;
            var error = process.StandardError.ReadToEndAsync();
            files = process.StandardOutput.ReadToEnd().Split('\0', StringSplitOptions.RemoveEmptyEntries);
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidOperationException(error.Result.Trim());
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            output.WriteLine($"git cannot list the tracked files ({e.Message}): every file of {folder}/ copied instead");
            files = Directory.GetFiles(Path.Combine(Builds.RepositoryRoot, folder), "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(Builds.RepositoryRoot, f)).ToArray();
        }
        // Tracked but deleted in the work tree: a fresh clone of the next commit will not have it either.
        var present = files.Where(f => File.Exists(Path.Combine(Builds.RepositoryRoot, f))).ToList();
        output.WriteLine($"{present.Count} files of {folder}/ copied");
        Assert.NotEmpty(present);
        return present;
    }
}
