using System.Text.Json;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Training;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.EndToEnd.Tests;

/// <summary>
/// A student process that learns from two teacher services at once (<c>--teacher NAME@ADDRESS[:WEIGHT]</c>
/// repeated): two teachers of different architectures, each in its own process.
/// </summary>
public sealed class EnsembleStudentTests : IAsyncLifetime
{
    private const int Examples = 256;
    private const double Temperature = 2;

    private readonly string workDirectory = Directory.CreateTempSubdirectory("ts-e2e-").FullName;
    private readonly List<RunningProcess> teachers = [];
    private string convnetCheckpoint = "", mlpCheckpoint = "", convnetAddress = "", mlpAddress = "";

    public async Task InitializeAsync()
    {
        // Untrained teachers of different architectures and seeds: what matters here is that their answers differ.
        convnetCheckpoint = WriteCheckpoint(ConvNet.Name, 8, seed: 11);
        mlpCheckpoint = WriteCheckpoint(Mlp.Name, 32, seed: 12);
        convnetAddress = await ServeAsync("convnet", convnetCheckpoint);
        mlpAddress = await ServeAsync("mlp", mlpCheckpoint);
    }

    [Fact]
    public async Task AnOfflineStudentKeepsTheWeightedMixtureOfTwoServedTeachers()
    {
        // Act: the MLP teacher weighs 3, the ConvNet 1.
        var (code, output, run, targets) = await TrainAsync("offline", $"convnet@{convnetAddress}", $"mlp@{mlpAddress}:3");

        // Assert: the run learnt from the ensemble, and the targets it kept are the mixture of both teachers' own.
        Assert.True(code == 0, output);
        Assert.Contains("learning from mixture-of-convnet+mlp: convnet at", output);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "report.json")));
        Assert.Equal("mixture-of-convnet+mlp", report.RootElement.GetProperty("teacher").GetString());
        var version = Assert.Single(report.RootElement.GetProperty("teacher_versions").EnumerateArray()).GetString()!;
        Assert.DoesNotContain(version, new[] { Checkpoint.Digest(convnetCheckpoint), Checkpoint.Digest(mlpCheckpoint) });

        var file = Assert.Single(Directory.GetFiles(targets, "*.targets"));
        var dataset = Path.GetFileName(file).Split('.')[0];
        var stored = TargetStore.TryLoad(file, new TargetStoreKey(dataset, "mixture-of-convnet+mlp", version, Temperature, 10));
        Assert.NotNull(stored);
        var pixels = FashionMnist.LoadTrain(FashionMnist.DefaultDirectory).Take(Examples).Pixels;
        var convnet = Reference(convnetCheckpoint, pixels);
        var mlp = Reference(mlpCheckpoint, pixels);
        Assert.Equal(Examples * 10, stored.LogProbs.Length);
        for (int i = 0; i < stored.LogProbs.Length; i++)
        {
            double expected = Math.Log(0.25 * Math.Exp(convnet[i]) + 0.75 * Math.Exp(mlp[i]));
            Assert.True(Math.Abs(expected - stored.LogProbs[i]) < 1e-4, $"value {i}: {stored.LogProbs[i]} != {expected}");
        }
        Assert.True(Enumerable.Range(0, convnet.Length).Max(i => Math.Abs(convnet[i] - mlp[i])) > 0.05, "the teachers answer alike; the test proves nothing.");
    }

    [Fact]
    public async Task AnOnlineStudentLearnsFromAProductOfTheTwo()
    {
        var (code, output, run, _) = await TrainAsync("online", $"convnet@{convnetAddress}", $"mlp@{mlpAddress}", "--teacher-combination", "product");

        Assert.True(code == 0, output);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "report.json")));
        Assert.Equal("product-of-convnet+mlp", report.RootElement.GetProperty("teacher").GetString());
        Assert.Single(report.RootElement.GetProperty("teacher_versions").EnumerateArray());
    }

    [Fact]
    public async Task AMemberTheServiceDoesNotHaveIsOneClearLineNamingIt()
    {
        var (code, output, _, _) = await TrainAsync("online", $"convnet@{convnetAddress}", $"resnet@{mlpAddress}");

        Assert.Equal(1, code);
        var error = Assert.Single(output.Split('\n'), l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Contains("NotFound: there is no teacher named 'resnet'; this service holds: mlp.", error);
    }

    private async Task<(int Code, string Output, string Run, string Targets)> TrainAsync(string mode, string first, string second, params string[] more)
    {
        var name = Guid.NewGuid().ToString("n")[..8];
        var run = Path.Combine(workDirectory, name);
        var targets = Path.Combine(workDirectory, name + "-targets");
        using var student = RunningProcess.Start(Builds.StudentTrainer,
        [
            "train", "--mode", mode, "--architecture", "mlp", "--width", "16", "--epochs", "1", "--temperature", "2",
            "--train-examples", $"{Examples}", "--eval-examples", "200", "--teacher-retry-seconds", "0",
            "--teacher", first, "--teacher", second, "--run-directory", run, "--targets-directory", targets, .. more,
        ]);
        var code = await student.WaitForExitAsync(TimeSpan.FromMinutes(3));
        return (code, student.Output, run, targets);
    }

    private string WriteCheckpoint(string architecture, int width, int seed)
    {
        var path = Path.Combine(workDirectory, $"{architecture}.ckpt");
        manual_seed(seed);
        var spec = ModelSpec.ForFashionMnist(architecture, width);
        using var model = spec.Create();
        Checkpoint.Save(path, spec, model);
        return path;
    }

    private async Task<string> ServeAsync(string name, string checkpoint)
    {
        var process = RunningProcess.Start(Builds.Teacher, "--urls", "http://127.0.0.1:0", $"--Teacher:Name={name}", $"--Teacher:Checkpoint={checkpoint}");
        teachers.Add(process);
        return await process.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1));
    }

    private static float[] Reference(string checkpoint, byte[] pixels)
    {
        using var source = ModelSoftTargetSource.FromCheckpoint("reference", checkpoint, Temperature, CPU);
        return source.LogProbs(pixels, Examples);
    }

    public Task DisposeAsync()
    {
        foreach (var teacher in teachers) teacher.Dispose();
        Directory.Delete(workDirectory, recursive: true);
        return Task.CompletedTask;
    }
}
