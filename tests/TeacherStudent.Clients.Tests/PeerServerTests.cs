using Google.Protobuf;
using Grpc.Net.Client;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Wire;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace TeacherStudent.Clients.Tests;

/// <summary>
/// The Python peer of ./bench.sh (bench/peer/peer_server.py, a foreign server of the same contract) on a small
/// ConvNet exported as a training run exports it, held against the same model's forward in this process:
/// what the benchmark compares the service with must answer the same question.
/// </summary>
public sealed class PeerServerTests : IDisposable
{
    private static readonly ImageDataset Images = FashionMnist.LoadTest(FashionMnist.DefaultDirectory);

    private readonly TemporaryDirectory directory = new("peer-tests");
    private readonly ModelSpec spec = ModelSpec.ForFashionMnist(ConvNet.Name, 8);
    private readonly nn.Module<Tensor, Tensor> model;

    public PeerServerTests()
    {
        manual_seed(23);
        model = spec.Create();
        // Batch norm's running statistics moved off their initial 0 and 1, so that an export or a
        // load that lost them gives other answers.
        using (no_grad())
        using (NewDisposeScope())
        {
            model.train();
            for (int b = 0; b < 4; b++) model.forward(Pixels(b * 64, 64));
        }
        model.eval();
        ClassifierExport.Save(directory.Path, spec, model, FashionMnist.ClassNames);
    }

    [Fact]
    public async Task PeerAnswersEveryRequestOfAStreamWithTheInProcessLogProbsAtItsOwnTemperature()
    {
        // Arrange: four requests sent before any answer is read, so that the peer's batcher puts
        // them in one forward at three temperatures; one asks for float16, one sends float pixels.
        using var peer = await PeerServer.StartAsync(directory.Path, threads: 1, maxDelayMs: 50);
        using var channel = GrpcChannel.ForAddress(peer.Address);
        (SoftTargetsRequest Request, int Start)[] asked =
        [
            (Request("a", start: 0, count: 1, temperature: 1f), 0),
            (Request("b", start: 1, count: 8, temperature: 2.5f), 1),
            (Request("c", start: 9, count: 37, temperature: 0.5f, output: DType.Float16), 9),
            (FloatRequest("d", start: 46, count: 5, temperature: 2.5f), 46),
        ];

        // Act
        var replies = await AskAsync(channel, [.. asked.Select(a => a.Request)]);

        // Assert
        Assert.Equal(["a", "b", "c", "d"], replies.Select(r => r.RequestId));
        for (int i = 0; i < asked.Length; i++)
        {
            var (request, start) = asked[i];
            var count = (int)request.Inputs.Shape[0];
            Assert.Equal(SoftTargetsResponse.ResultOneofCase.LogProbs, replies[i].ResultCase);
            Assert.Equal([count, 10L], replies[i].LogProbs.Shape);
            Assert.Equal(request.OutputDtype, replies[i].LogProbs.Dtype);
            var actual = TensorCodec.ToFloats(new WireTensor([.. replies[i].LogProbs.Shape], (WireDType)replies[i].LogProbs.Dtype, replies[i].LogProbs.Data.Memory));
            var expected = Expected(start, count, request.Temperature);
            // float16 keeps 11 significant bits: log-probs of a few units are off by up to ~0.004.
            var tolerance = request.OutputDtype == DType.Float16 ? 1e-2 : 1e-4;
            for (int j = 0; j < expected.Length; j++) Assert.True(Math.Abs(expected[j] - actual[j]) <= tolerance,
                $"request {request.RequestId}, value {j}: in process {expected[j]}, peer {actual[j]}");
        }
    }

    [Fact]
    public async Task PeerAnswersABadRequestWithAnErrorAndKeepsTheStreamOpen()
    {
        // Arrange
        using var peer = await PeerServer.StartAsync(directory.Path, threads: 1);
        using var channel = GrpcChannel.ForAddress(peer.Address);
        var bad = Request("bad", start: 0, count: 2, temperature: 0f);
        var good = Request("good", start: 2, count: 3, temperature: 1f);

        // Act
        var replies = await AskAsync(channel, bad, good);

        // Assert
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.Error, replies[0].ResultCase);
        Assert.Equal(3, replies[0].Error.Code); // INVALID_ARGUMENT
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.LogProbs, replies[1].ResultCase);
        Assert.Equal([3L, 10L], replies[1].LogProbs.Shape);
    }

    private static async Task<List<SoftTargetsResponse>> AskAsync(GrpcChannel channel, params SoftTargetsRequest[] requests)
    {
        using var call = new Teacher.TeacherClient(channel).SoftTargets();
        foreach (var request in requests) await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();
        var replies = new List<SoftTargetsResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) replies.Add(call.ResponseStream.Current);
        return replies;
    }

    // log_softmax(model(x) / T) of test images [start, start + count), computed here.
    private float[] Expected(int start, int count, float temperature)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return SoftTargets.LogProbabilities(model.forward(Pixels(start, count)), temperature).data<float>().ToArray();
    }

    private static Tensor Pixels(int start, int count) =>
        tensor(Images.Pixels.AsSpan(start * 784, count * 784).ToArray(), ScalarType.Byte).reshape(count, 1, 28, 28);

    private static SoftTargetsRequest Request(string id, int start, int count, float temperature, DType output = DType.Float32) => new()
    {
        RequestId = id,
        Teacher = "fashion",
        Temperature = temperature,
        OutputDtype = output,
        Inputs = new Contracts.V1.Tensor
        {
            Shape = { count, 1, 28, 28 },
            Dtype = DType.Uint8,
            Data = ByteString.CopyFrom(Images.Pixels.AsSpan(start * 784, count * 784)),
        },
    };

    // The same pixels as float32 in 0..1.
    private static SoftTargetsRequest FloatRequest(string id, int start, int count, float temperature)
    {
        var floats = Images.Pixels.AsSpan(start * 784, count * 784).ToArray().Select(p => p / 255f).ToArray();
        var request = Request(id, start, count, temperature);
        request.Inputs.Dtype = DType.Float32;
        request.Inputs.Data = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats.AsSpan()));
        return request;
    }

    public void Dispose()
    {
        model.Dispose();
        directory.Dispose();
    }
}
