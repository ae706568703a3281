using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Tests.Fixtures;
using Xunit.Abstractions;

namespace TeacherStudent.Teacher.Tests.TorchScript;

/// <summary>
/// A PyTorch classifier (TorchScript + sidecar) served by the real service over gRPC on loopback:
/// its soft targets against PyTorch's own, Describe, several instances, and swaps in and out.
/// </summary>
[Collection(TorchScriptCollection.Name)]
public sealed class TorchScriptTeacherTests(TorchScriptTeachers teachers, ITestOutputHelper output)
{
    // float32 arithmetic in two builds of libtorch (1.13 and 2.10), kernels free to order sums differently.
    private const double Tolerance = 1e-5;

    // Open to callers; the admin rpc with the admin key.
    private static Task<TeacherServer> ServeAsync(string checkpoint, params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string>
        {
            ["Auth:AdminKey"] = ApiKeys.Admin,
            ["Teacher:Name"] = "fashion",
            ["Teacher:Checkpoint"] = checkpoint,
            ["Teacher:Device"] = "cpu",
        };
        foreach (var (key, value) in more) settings[key] = value;
        return TeacherServer.StartAsync(settings);
    }

    private static async Task<SoftTargetsResponse> AskAsync(TeacherServer server, SoftTargetsRequest request)
    {
        await using var stream = server.OpenStream();
        var response = await stream.AskAsync(request);
        TestImages.AssertSucceeded(response);
        return response;
    }

    private static SoftTargetsRequest Images(float temperature) =>
        TestImages.Request(TorchScriptTeachers.FirstImage, TorchScriptTeachers.Count, temperature);

    private double AssertMatchesPyTorch(float[] expected, float[] actual, string what)
    {
        double worst = expected.Zip(actual, (e, a) => Math.Abs((double)e - a)).Max();
        output.WriteLine($"{what}: max |service - PyTorch| = {worst:E2} over {expected.Length} log-probs");
        TestImages.AssertClose(expected, actual, Tolerance);
        return worst;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task ItsSoftTargetsEqualPyTorchsLogSoftmaxOfTheSameImages(int temperature)
    {
        // Arrange
        await using var server = await ServeAsync(teachers.Version1);

        // Act
        var response = await AskAsync(server, Images(temperature));

        // Assert
        Assert.Equal([TorchScriptTeachers.Count, TorchScriptTeachers.Classes], response.LogProbs.Shape);
        Assert.Equal(TorchScriptTeachers.ExpectedVersion(teachers.Version1), response.TeacherVersion);
        AssertMatchesPyTorch(teachers.Reference(teachers.Version1, temperature), TestImages.LogProbs(response), $"T={temperature}, uint8 pixels (torch {teachers.TorchVersion})");
    }

    [Fact]
    public async Task FloatPixelsInZeroToOneGetTheTargetsOfTheirBytes()
    {
        // Arrange
        await using var server = await ServeAsync(teachers.Version1);
        var request = Images(1f);
        var floats = request.Inputs.Data.Select(b => b / 255f).ToArray();
        request.Inputs.Dtype = DType.Float32;
        request.Inputs.Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(floats.AsSpan()));

        // Act
        var response = await AskAsync(server, request);

        // Assert
        AssertMatchesPyTorch(teachers.Reference(teachers.Version1, 1), TestImages.LogProbs(response), "T=1, float32 pixels");
    }

    [Fact]
    public async Task DescribeReportsTorchScriptTheSidecarsClassNamesAndShapeAndADigestOfBothFiles()
    {
        // Arrange
        await using var server = await ServeAsync(teachers.Version1);

        // Act
        var info = (await server.Client.DescribeAsync(new DescribeRequest { Teacher = "fashion" })).Teachers.Single();

        // Assert
        Assert.Equal(("torchscript", TeacherTask.Classifier, 10), (info.Architecture, info.Task, info.NumOutputs));
        Assert.Equal(TorchScriptTeachers.ExpectedVersion(teachers.Version1), info.Version);
        Assert.Equal([1L, 28L, 28L], info.Input.ExampleShape);
        Assert.Equal([DType.Float32, DType.Uint8], info.Input.Dtypes);
        Assert.Equal(FashionMnist.ClassNames, info.Input.ClassNames);
        Assert.Equal("", info.LastLoadError);
    }

    [Fact]
    public async Task TheSidecarsClassNamesAreDescribedAsWrittenNotAssumedFromTheClassCount()
    {
        // Arrange: the same model, its classes renamed.
        var directory = teachers.Scratch("renamed");
        var model = Path.Combine(directory, "model.pt");
        File.Copy(teachers.Version1, model);
        var names = Enumerable.Range(0, 10).Select(i => $"class {i}").ToArray();
        await File.WriteAllTextAsync(Path.ChangeExtension(model, ".json"),
            $$"""{"input": {"shape": [1, 28, 28]}, "normalization": {"mean": [0.2860], "std": [0.3530]}, "class_names": [{{string.Join(", ", names.Select(n => $"\"{n}\""))}}]}""");
        await using var server = await ServeAsync(model);

        // Act
        var info = (await server.Client.DescribeAsync(new DescribeRequest { Teacher = "fashion" })).Teachers.Single();

        // Assert
        Assert.Equal(names, info.Input.ClassNames);
        Assert.NotEqual(TorchScriptTeachers.ExpectedVersion(teachers.Version1), info.Version); // the sidecar is part of the version
        Assert.Equal(TorchScriptTeachers.ExpectedVersion(model), info.Version);
    }

    [Fact]
    public async Task TwoInstancesAnswerConcurrentStreamsWithPyTorchsTargets()
    {
        // Arrange
        await using var server = await ServeAsync(teachers.Version1, ("Teacher:Instances", "2"));
        var registry = server.Services.GetRequiredService<TeacherRegistry>();

        // Act: four streams at once, each with its own half of the images at its own temperature.
        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(async i =>
        {
            int temperature = 1 + i % 2, half = TorchScriptTeachers.Count / 2, first = TorchScriptTeachers.FirstImage + (i / 2) * half;
            var response = await AskAsync(server, TestImages.Request(first, half, temperature));
            return (i, temperature, LogProbs: TestImages.LogProbs(response));
        }));

        // Assert
        Assert.True(registry.TryGet("fashion", out var teacher));
        Assert.Equal(2, teacher!.Instances);
        foreach (var (i, temperature, logProbs) in answers)
        {
            int rows = TorchScriptTeachers.Count / 2 * TorchScriptTeachers.Classes;
            var expected = teachers.Reference(teachers.Version1, temperature).AsSpan((i / 2) * rows, rows).ToArray();
            AssertMatchesPyTorch(expected, logProbs, $"instance stream {i}, T={temperature}");
        }
    }

    [Fact]
    public async Task AProjectCheckpointTeacherSwapsToATorchScriptVersionOfTheSameShapeAndClasses()
    {
        // Arrange: a ConvNet checkpoint of the project serves first.
        var directory = teachers.Scratch("swap");
        var convNet = TeacherCheckpoints.Create(Path.Combine(directory, "convnet.ckpt"), seed: 5);
        await using var server = await ServeAsync(convNet, ("Registry:AllowedDirectories:0", teachers.Folder));
        var before = await AskAsync(server, Images(2f));

        // Act
        var loaded = await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = teachers.Version1 }, ApiKeys.Header(ApiKeys.Admin));
        var after = await AskAsync(server, Images(2f));

        // Assert: the new version answers, not the old version's cached targets.
        var version = TorchScriptTeachers.ExpectedVersion(teachers.Version1);
        Assert.Equal((version, before.TeacherVersion), (loaded.Version, loaded.PreviousVersion));
        Assert.Equal((version, 0), (after.TeacherVersion, after.CacheHits));
        AssertMatchesPyTorch(teachers.Reference(teachers.Version1, 2), TestImages.LogProbs(after), "after the swap, T=2");
    }

    [Fact]
    public async Task ANewTorchScriptFileInTheWatchedFolderBecomesTheNextVersion()
    {
        // Arrange: fashion.pt and fashion.json in the watched folder.
        var watched = teachers.Scratch("watched");
        var served = Path.Combine(watched, "fashion.pt");
        CheckpointFolder.Publish(Path.ChangeExtension(teachers.Version1, ".json"), Path.ChangeExtension(served, ".json"));
        CheckpointFolder.Publish(teachers.Version1, served);
        await using var server = await ServeAsync(served, ("Registry:WatchDirectory", watched), ("Registry:WatchDebounceMilliseconds", "50"));
        var (v1, v2) = (TorchScriptTeachers.ExpectedVersion(teachers.Version1), TorchScriptTeachers.ExpectedVersion(teachers.Version2));

        // Act: the sidecar first, then the model renamed into place, as the README says.
        CheckpointFolder.Publish(Path.ChangeExtension(teachers.Version2, ".json"), Path.ChangeExtension(served, ".json"));
        CheckpointFolder.Publish(teachers.Version2, served);
        var info = await CheckpointFolder.DescribeUntilAsync(server, "fashion", t => t.Version != v1);
        var response = await AskAsync(server, Images(1f));

        // Assert
        Assert.Equal((v2, ""), (info.Version, info.LastLoadError));
        Assert.Equal(v2, response.TeacherVersion);
        AssertMatchesPyTorch(teachers.Reference(teachers.Version2, 1), TestImages.LogProbs(response), "version 2 from the watched folder, T=1");
    }
}
