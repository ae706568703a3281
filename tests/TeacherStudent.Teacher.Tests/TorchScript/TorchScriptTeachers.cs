using System.Security.Cryptography;
using TeacherStudent.Testing;
using TeacherStudent.Teacher.Tests.Fixtures;

namespace TeacherStudent.Teacher.Tests.TorchScript;

/// <summary>
/// TorchScript teachers written by Debian's PyTorch (1.13) through the export lines of
/// the README ("Bring your own model"), with PyTorch's own soft targets for real Fashion-MNIST test
/// images, and files a service must refuse; made once for the tests of the collection.
/// </summary>
public sealed class TorchScriptTeachers : IAsyncLifetime
{
    /// <summary>First test image used (other tests use other images, so the cache never hides a forward).</summary>
    public const int FirstImage = 3000;

    /// <summary>How many images PyTorch answered.</summary>
    public const int Count = 64;

    public const int Classes = 10;

    private readonly TemporaryDirectory directory = new("torchscript-teachers");

    /// <summary>The two versions' TorchScript files (model.pt, its sidecar model.json beside it).</summary>
    public string Version1 => Path.Combine(directory.Path, "v1", "model.pt");

    public string Version2 => Path.Combine(directory.Path, "v2", "model.pt");

    /// <summary>A file each service must refuse, by name (see make_teachers.py).</summary>
    /// <summary>The folder every file of these teachers is under (the services' Registry:AllowedDirectories).</summary>
    public string Folder => directory.Path;

    public string Bad(string name) => Path.Combine(directory.Path, "bad", name);

    /// <summary>Where a test may write files of its own.</summary>
    public string Scratch(string name)
    {
        var path = Path.Combine(directory.Path, "scratch", $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>What PyTorch printed as its version.</summary>
    public string TorchVersion { get; private set; } = "";

    /// <summary>PyTorch's log_softmax(model(x) / T) of the images by the eager model, [Count, Classes] row-major.</summary>
    public float[] Reference(string modelPath, int temperature) =>
        ReadFloats(Path.Combine(Path.GetDirectoryName(modelPath)!, $"reference-T{temperature}.bin"));

    /// <summary>The version a service must give a TorchScript file: a digest of it and its sidecar, worked out here apart from the service's code.</summary>
    public static string ExpectedVersion(string modelPath)
    {
        var both = SHA256.HashData(File.ReadAllBytes(modelPath)).Concat(SHA256.HashData(File.ReadAllBytes(Path.ChangeExtension(modelPath, ".json")))).ToArray();
        return Convert.ToHexStringLower(SHA256.HashData(both))[..16];
    }

    public async Task InitializeAsync()
    {
        var images = Path.Combine(directory.Path, "images.bin");
        await File.WriteAllBytesAsync(images, TestImages.Pixels(FirstImage, Count).ToArray());
        var snippet = Path.Combine(directory.Path, "export_snippet.py");
        await File.WriteAllTextAsync(snippet, DocumentedSnippet.Python("README.md", "## Bring your own model", "torch.jit.trace"));
        var script = Path.Combine(Builds.RepositoryRoot, "tests", "TeacherStudent.Teacher.Tests", "TorchScript", "make_teachers.py");
        TorchVersion = (await SystemPython.RunAsync(script, [snippet, images, Count.ToString(), directory.Path], directory.Path)).Trim();
    }

    public Task DisposeAsync()
    {
        directory.Dispose();
        return Task.CompletedTask;
    }

    private static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var floats = new float[bytes.Length / sizeof(float)];
        Buffer.BlockCopy(bytes, 0, floats, 0, bytes.Length); // little-endian, as numpy wrote it ("<f4")
        return floats;
    }
}

/// <summary>The tests that share one set of <see cref="TorchScriptTeachers"/>.</summary>
[CollectionDefinition(Name)]
public sealed class TorchScriptCollection : ICollectionFixture<TorchScriptTeachers>
{
    public const string Name = "torchscript teachers";
}
