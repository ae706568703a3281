using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using static TorchSharp.torch;

namespace TeacherStudent.Clients.Tests;

/// <summary>
/// One teacher service process for every test of a class, holding a small untrained ConvNet
/// ("fashion"), a tiny language model ("lm"), a second ConvNet ("fashion2") and the mixture of the two
/// ConvNets ("pair"), behind an API key; and the C# client the foreign clients are held against.
/// </summary>
public sealed class ServedTeachers : IAsyncLifetime
{
    public const string ApiKey = "clients-test-key";

    private readonly TemporaryDirectory directory = new("clients-tests");
    private RunningProcess process = null!;
    private GrpcChannel channel = null!;

    /// <summary>host:port, as the Python and Node clients take it.</summary>
    public string HostPort { get; private set; } = "";

    public Teacher.TeacherClient Client { get; private set; } = null!;

    public Metadata Headers { get; } = new() { { "x-api-key", ApiKey } };

    /// <summary>The 10,000 Fashion-MNIST test images, as the clients read them from the same files.</summary>
    public ImageDataset Images { get; } = FashionMnist.LoadTest(FashionMnist.DefaultDirectory);

    /// <summary>Token ids of a few validation fortunes, for the language model.</summary>
    public int[] Tokens { get; private set; } = [];

    /// <summary>A file in this fixture's temporary directory.</summary>
    public string File(string name) => directory.File(name);

    public async Task InitializeAsync()
    {
        var convnet = directory.File("fashion.ckpt");
        manual_seed(11);
        var spec = ModelSpec.ForFashionMnist(ConvNet.Name, 8);
        using (var model = spec.Create()) Checkpoint.Save(convnet, spec, model);

        // A second ConvNet from another seed, and the service's mixture of the two (weights 1 and 2) as "pair".
        var second = directory.File("fashion2.ckpt");
        manual_seed(12);
        using (var model = spec.Create()) Checkpoint.Save(second, spec, model);

        var lm = TinyLanguageModel.Write(directory.File("lm"), vocabularySize: 350, paddedVocabulary: 384);
        using (var model = HuggingFaceCheckpoint.Load(lm, CPU)) Tokens = model.EncodeEntries(FortunesCorpus.Load().Validation.Take(20));

        process = RunningProcess.Start(Builds.Teacher,
        [
            "--urls", "http://127.0.0.1:0", $"--Auth:ApiKeys:0={ApiKey}",
            "--Teachers:0:Name=fashion", $"--Teachers:0:Checkpoint={convnet}", "--Teachers:0:Device=cpu",
            "--Teachers:1:Name=lm", $"--Teachers:1:Checkpoint={lm}", "--Teachers:1:Device=cpu",
            "--Teachers:2:Name=fashion2", $"--Teachers:2:Checkpoint={second}", "--Teachers:2:Device=cpu",
            "--Ensembles:0:Name=pair", "--Ensembles:0:Members:0:Teacher=fashion", "--Ensembles:0:Members:1:Teacher=fashion2",
            "--Ensembles:0:Members:1:Weight=2",
        ]);
        var address = await process.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1));
        HostPort = address["http://".Length..];
        channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20 });
        Client = new Teacher.TeacherClient(channel);
    }

    /// <summary>A request for test images [start, start + count).</summary>
    public SoftTargetsRequest ImageRequest(int start, int count, float temperature, DType dtype = DType.Float32, string teacher = "fashion") => new()
    {
        Teacher = teacher,
        Temperature = temperature,
        OutputDtype = dtype,
        Inputs = new Contracts.V1.Tensor
        {
            Shape = { count, 1, 28, 28 },
            Dtype = DType.Uint8,
            Data = ByteString.CopyFrom(Images.Pixels.AsSpan(start * 784, count * 784)),
        },
    };

    /// <summary>A request for rows [row, row + count) of <paramref name="tokens"/> laid out as [rows, length].</summary>
    public static SoftTargetsRequest TokenRequest(int[] tokens, int row, int count, int length, float temperature, int k, SparseKind kind, long seed) => new()
    {
        Teacher = "lm",
        Temperature = temperature,
        K = k,
        SparseKind = kind,
        Seed = seed,
        Inputs = new Contracts.V1.Tensor
        {
            Shape = { count, length },
            Dtype = DType.Int32,
            Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(tokens.AsSpan(row * length, count * length))),
        },
    };

    /// <summary>Sends the requests on one SoftTargets stream, as the C# client, and returns the replies in order.</summary>
    public async Task<SoftTargetsResponse[]> AskAsync(params SoftTargetsRequest[] requests)
    {
        using var call = Client.SoftTargets(Headers, deadline: DateTime.UtcNow.AddMinutes(1));
        for (int i = 0; i < requests.Length; i++)
        {
            requests[i].RequestId = $"cs-{i}";
            await call.RequestStream.WriteAsync(requests[i]);
        }
        await call.RequestStream.CompleteAsync();
        var replies = new List<SoftTargetsResponse>();
        await foreach (var reply in call.ResponseStream.ReadAllAsync()) replies.Add(reply);
        Assert.Equal(requests.Select(r => r.RequestId), replies.Select(r => r.RequestId));
        return [.. replies];
    }

    /// <summary>The samples of one Generate call, as the C# client gets them, by (prompt_index, sample_index); and the teacher version that wrote them.</summary>
    public async Task<(GeneratedSample[] Samples, string[] Versions)> GenerateAsync(GenerateRequest request)
    {
        using var call = Client.Generate(request, Headers, deadline: DateTime.UtcNow.AddMinutes(1));
        var samples = new List<GeneratedSample>();
        var versions = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            samples.AddRange(response.Samples);
            versions.Add(response.TeacherVersion);
        }
        return ([.. samples.OrderBy(s => s.PromptIndex).ThenBy(s => s.SampleIndex)], [.. versions]);
    }

    /// <summary>The values of a float32 or float16 tensor, widened to float.</summary>
    public static float[] Floats(Contracts.V1.Tensor tensor) => tensor.Dtype switch
    {
        DType.Float32 => MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray(),
        DType.Float16 => MemoryMarshal.Cast<byte, Half>(tensor.Data.Span).ToArray().Select(h => (float)h).ToArray(),
        _ => throw new ArgumentException($"{tensor.Dtype} is not a float type"),
    };

    /// <summary>The values of a uint16 or int32 tensor.</summary>
    public static long[] Integers(Contracts.V1.Tensor tensor) => tensor.Dtype switch
    {
        DType.Uint16 => MemoryMarshal.Cast<byte, ushort>(tensor.Data.Span).ToArray().Select(v => (long)v).ToArray(),
        DType.Int32 => MemoryMarshal.Cast<byte, int>(tensor.Data.Span).ToArray().Select(v => (long)v).ToArray(),
        _ => throw new ArgumentException($"{tensor.Dtype} is not an id type"),
    };

    public Task DisposeAsync()
    {
        channel?.Dispose();
        process?.Dispose();
        directory.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>The test classes that share one <see cref="ServedTeachers"/> process (and so run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class ServedTeachersCollection : ICollectionFixture<ServedTeachers>
{
    public const string Name = "served teachers";
}
