using Google.Protobuf;
using Grpc.Net.Client;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Training;
using static TorchSharp.torch;

namespace TeacherStudent.EndToEnd.Tests;

/// <summary>
/// A teacher service process over a small untrained ConvNet checkpoint (training is not what
/// these tests are about), with the same checkpoint loaded in the test as the reference.
/// </summary>
public sealed class ServedTeacher : IDisposable
{
    private ServedTeacher(RunningProcess process, string address, string checkpoint)
    {
        Process = process;
        Address = address;
        Checkpoint = checkpoint;
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20, MaxSendMessageSize = 64 << 20 });
        Client = new Teacher.TeacherClient(Channel);
    }

    public RunningProcess Process { get; }
    public string Address { get; }
    public string Checkpoint { get; }
    public GrpcChannel Channel { get; }
    public Teacher.TeacherClient Client { get; }

    /// <summary>The 10,000 Fashion-MNIST test images, loaded once.</summary>
    public static ImageDataset Images => LazyImages.Value;

    private static readonly Lazy<ImageDataset> LazyImages = new(() => FashionMnist.LoadTest(FashionMnist.DefaultDirectory));

    /// <summary>Writes a checkpoint into <paramref name="directory"/> and serves it with the extra switches.</summary>
    public static async Task<ServedTeacher> StartAsync(string directory, params string[] settings)
    {
        var checkpoint = Path.Combine(directory, "teacher.ckpt");
        lock (LazyImages)
        {
            manual_seed(11);
            var spec = ModelSpec.ForFashionMnist(ConvNet.Name, 8);
            using var model = spec.Create();
            Distillation.Models.Checkpoint.Save(checkpoint, spec, model);
        }
        var process = RunningProcess.Start(Builds.Teacher,
            ["--urls", "http://127.0.0.1:0", "--Teacher:Name=fashion", $"--Teacher:Checkpoint={checkpoint}", .. settings]);
        var address = await process.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1));
        return new ServedTeacher(process, address, checkpoint);
    }

    /// <summary>A well-formed request for test images [start, start + count).</summary>
    public static SoftTargetsRequest Request(int start, int count, float temperature, string id = "good") => new()
    {
        RequestId = id,
        Teacher = "fashion",
        Temperature = temperature,
        OutputDtype = DType.Float32,
        Inputs = new Contracts.V1.Tensor
        {
            Shape = { count, 1, 28, 28 },
            Dtype = DType.Uint8,
            Data = ByteString.CopyFrom(Images.Pixels.AsSpan(start * 784, count * 784)),
        },
    };

    // The checkpoint loaded once per temperature asked about, not once per assertion.
    private readonly Dictionary<float, ModelSoftTargetSource> references = [];

    /// <summary>The reference answer: the same checkpoint's forward in this process.</summary>
    public float[] Reference(int start, int count, float temperature)
    {
        // One forward at a time: concurrent streams of a test check their replies from several threads.
        lock (references)
        {
            if (!references.TryGetValue(temperature, out var source))
                references[temperature] = source = ModelSoftTargetSource.FromCheckpoint("fashion", Checkpoint, temperature, CPU);
            return source.LogProbs(Images.Pixels.AsSpan(start * 784, count * 784), count);
        }
    }

    /// <summary>Asserts that a reply carries the reference answer for its request.</summary>
    public void AssertCorrect(SoftTargetsResponse reply, int start, int count, float temperature)
    {
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.LogProbs, reply.ResultCase);
        var expected = Reference(start, count, temperature);
        var actual = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(reply.LogProbs.Data.Span);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-4, $"value {i}: {actual[i]} != {expected[i]}");
    }

    public void Dispose()
    {
        Channel.Dispose();
        Process.Dispose();
        foreach (var source in references.Values) source.Dispose();
    }
}
