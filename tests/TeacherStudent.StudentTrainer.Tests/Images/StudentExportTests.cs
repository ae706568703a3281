using System.Text.Json;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TeacherStudent.StudentTrainer.Tests.Images;

/// <summary>
/// A student the trainer wrote, loaded into PyTorch (Debian's 1.13) by the loading snippet of
/// the README ("Bring your own model"), read from that page: its log-probabilities equal the project's own.
/// </summary>
public sealed class StudentExportTests(ITestOutputHelper output) : IDisposable
{
    private const int FirstImage = 2000, Count = 64;
    private readonly TemporaryDirectory directory = new("student-export-tests");

    public void Dispose() => directory.Dispose();

    private static string PythonDirectory => Path.Combine(Builds.RepositoryRoot, "tests", "TeacherStudent.StudentTrainer.Tests", "Images", "python");

    [Theory]
    [InlineData("mlp", 32)]
    [InlineData("convnet", 8)]
    public async Task TheDocumentedSnippetLoadsTheStudentIntoPyTorchAndPredictsAsTheProjectDoes(string architecture, int width)
    {
        // Arrange: a short run of the trainer, as a user runs it.
        var run = Path.Combine(directory.Path, "runs", "student"); // the path the snippet names
        using (var trainer = RunningProcess.Start(Builds.StudentTrainer, "train", "--mode", "supervised", "--architecture", architecture,
                   "--width", width.ToString(), "--epochs", "1", "--train-examples", "512", "--eval-examples", "128", "--device", "cpu",
                   "--run-directory", run))
        {
            Assert.True(await trainer.WaitForExitAsync(TimeSpan.FromMinutes(3)) == 0, trainer.Output);
        }
        var images = FashionMnist.LoadTest(FashionMnist.DefaultDirectory);
        var pixels = images.Pixels.AsSpan(FirstImage * images.ExampleSize, Count * images.ExampleSize).ToArray();
        await File.WriteAllBytesAsync(directory.File("images.bin"), pixels);
        var snippet = directory.File("loading_snippet.py");
        await File.WriteAllTextAsync(snippet, DocumentedSnippet.Python("README.md", "## Bring your own model", "load_student"));

        // Act: PyTorch's answer, with the stand-in safetensors reader and the Python client on PYTHONPATH.
        var printed = await SystemPython.RunAsync(Path.Combine(PythonDirectory, "run_loading_snippet.py"),
            [snippet, directory.File("images.bin"), Count.ToString(), directory.File("torch.bin")], directory.Path,
            pythonPath: $"{PythonDirectory}:{Path.Combine(Builds.RepositoryRoot, "clients", "python")}");
        var torchLogProbs = ReadFloats(directory.File("torch.bin"));
        var torchClasses = printed.Split(' ', StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();

        // Assert: the project's own model, from its checkpoint, on the same images.
        var (expected, classes) = ProjectLogProbs(Path.Combine(run, "model.ckpt"), pixels);
        double worst = expected.Zip(torchLogProbs, (e, a) => Math.Abs((double)e - a)).Max();
        output.WriteLine($"{architecture} {width}: max |PyTorch - project| = {worst:E2} over {expected.Length} log-probs");
        Assert.Equal(expected.Length, torchLogProbs.Length);
        Assert.True(worst <= 1e-5, $"PyTorch's log-probs differ from the project's by up to {worst}");
        Assert.Equal(classes, torchClasses);
    }

    [Fact]
    public async Task EveryRunWritesItsStudentAsSafetensorsWithItsSpecBesideTheCheckpoint()
    {
        // Arrange
        var run = directory.File("run");

        // Act
        using (var trainer = RunningProcess.Start(Builds.StudentTrainer, "train", "--mode", "supervised", "--width", "16", "--epochs", "1",
                   "--train-examples", "256", "--eval-examples", "64", "--device", "cpu", "--run-directory", run))
        {
            Assert.True(await trainer.WaitForExitAsync(TimeSpan.FromMinutes(3)) == 0, trainer.Output);
        }
        using var spec = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "model.json")));
        var s = spec.RootElement;

        // Assert
        Assert.True(File.Exists(Path.Combine(run, "model.ckpt")));
        Assert.True(File.Exists(Path.Combine(run, "model.safetensors")));
        Assert.Equal(("mlp", 16), (s.GetProperty("architecture").GetString(), s.GetProperty("width").GetInt32()));
        Assert.Equal([1, 28, 28], s.GetProperty("input").GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("float32", s.GetProperty("input").GetProperty("dtype").GetString());
        Assert.Equal([0.2860], s.GetProperty("normalization").GetProperty("mean").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal([0.3530], s.GetProperty("normalization").GetProperty("std").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(FashionMnist.ClassNames, s.GetProperty("class_names").EnumerateArray().Select(e => e.GetString()));
    }

    private static (float[] LogProbs, int[] Classes) ProjectLogProbs(string checkpoint, byte[] pixels)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (_, model) = Checkpoint.Load(checkpoint, CPU);
        using var _ = model;
        var logProbs = nn.functional.log_softmax(model.forward(tensor(pixels).reshape(Count, 1, 28, 28)), 1);
        return (logProbs.data<float>().ToArray(), logProbs.argmax(1).data<long>().ToArray().Select(c => (int)c).ToArray());
    }

    private static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var floats = new float[bytes.Length / sizeof(float)];
        Buffer.BlockCopy(bytes, 0, floats, 0, bytes.Length); // little-endian, as numpy wrote it ("<f4")
        return floats;
    }
}
