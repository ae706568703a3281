using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.Teacher.Telemetry;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests.Fixtures;

/// <summary>
/// A language-model teacher service of its own for one sequence-batching test (so that its
/// counters see only that test): a tiny Llama with the given "Batching" settings, and the same
/// model directory loaded in the test process, whose targets for each sequence alone are what
/// every answer is checked against.
/// </summary>
public sealed class SequenceBatchingTeacher : IAsyncDisposable
{
    private readonly TemporaryDirectory directory;
    private readonly int[] corpus;

    private SequenceBatchingTeacher(TemporaryDirectory directory, TeacherServer server, LanguageModel reference)
    {
        this.directory = directory;
        Server = server;
        Reference = reference;
        corpus = reference.EncodeEntries(FortunesCorpus.Load().Validation.Take(80));
    }

    public TeacherServer Server { get; }
    public LanguageModel Reference { get; }

    /// <summary>The service's own counters.</summary>
    public TeacherMetrics Metrics => Server.Services.GetRequiredService<TeacherMetrics>();

    /// <summary>Starts a service with "Batching:KEY" set to each of <paramref name="batching"/>.</summary>
    public static async Task<SequenceBatchingTeacher> StartAsync(IReadOnlyDictionary<string, string> batching)
    {
        var directory = new TemporaryDirectory("sequence-batching-tests");
        var checkpoint = TinyLanguageModel.Write(directory.File("lm"), fortunes: 300, vocabularySize: 400, paddedVocabulary: 448, contextLength: 32, width: 32);
        var settings = new Dictionary<string, string>
        {
            ["Teacher:Name"] = "lm",
            ["Teacher:Checkpoint"] = checkpoint,
            ["Teacher:Device"] = "cpu",
        };
        foreach (var (key, value) in batching) settings[$"Batching:{key}"] = value;
        var server = await TeacherServer.StartAsync(settings);
        return new SequenceBatchingTeacher(directory, server, HuggingFaceCheckpoint.Load(checkpoint, CPU));
    }

    /// <summary><paramref name="count"/> sequences of <paramref name="length"/> real tokens, starting at token <paramref name="start"/> of the text.</summary>
    public int[] Tokens(int start, int count, int length) => corpus.AsSpan(start % (corpus.Length - count * length), count * length).ToArray();

    /// <summary>A request for <paramref name="count"/> sequences of <paramref name="length"/> <paramref name="tokens"/>.</summary>
    public SoftTargetsRequest Request(int[] tokens, int count, int length, float temperature = 2f, int k = 0, SparseKind kind = SparseKind.TopK,
        long seed = 17, string id = "r") => new()
    {
        RequestId = id,
        Teacher = "lm",
        Temperature = temperature,
        OutputDtype = DType.Float32,
        K = k,
        SparseKind = kind,
        Seed = seed,
        TokenizerDigest = Reference.Tokenizer.Digest,
        Inputs = new Contracts.V1.Tensor
        {
            Shape = { count, length },
            Dtype = DType.Int32,
            Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(tokens.AsSpan())),
        },
    };

    /// <summary>
    /// Opens a stream that asks once (one sequence of 4 tokens) and then stays open with nothing to ask:
    /// the batcher has seen a student that may send at any moment, so its forwards wait for company
    /// (MaxDelay or a full token budget). Its forward is done when this returns; disposing the stream ends it.
    /// </summary>
    public async Task<SoftTargetStream> OpenIdleStreamAsync()
    {
        var stream = Server.OpenStream();
        var idle = await stream.AskAsync(Request(Tokens(7777, 1, 4), 1, 4, k: 4, id: "idle"));
        Assert.NotEqual(SoftTargetsResponse.ResultOneofCase.Error, idle.ResultCase);
        return stream;
    }

    /// <summary>
    /// Asserts that <paramref name="response"/> holds, for every sequence of <paramref name="request"/>,
    /// what the reference computes for that sequence alone: values within float tolerance, ids equal.
    /// </summary>
    public void AssertSameAsAlone(SoftTargetsRequest request, SoftTargetsResponse response)
    {
        Assert.NotEqual(SoftTargetsResponse.ResultOneofCase.Error, response.ResultCase);
        var (count, length) = ((int)request.Inputs.Shape[0], (int)request.Inputs.Shape[1]);
        var tokens = MemoryMarshal.Cast<byte, int>(request.Inputs.Data.Span).ToArray();
        var kind = request.SparseKind == SparseKind.Sampled ? SparseTargetKind.Sampled : SparseTargetKind.TopK;
        var settings = new SequenceTargetSettings(request.Temperature, request.K, kind, request.Seed);
        // Each sequence on its own: a forward of one sequence, nothing else in it.
        var alone = SequenceTargetBatch.Join(Enumerable.Range(0, count)
            .Select(s => SequenceTargets.Compute(Reference, tokens.AsSpan(s * length, length), 1, length, settings)).ToArray());
        if (request.K == 0)
        {
            TestImages.AssertClose(alone.LogProbs, Floats(response.LogProbs), 1e-4);
            return;
        }
        var sparse = response.SparseLogProbs;
        Assert.Equal(alone.Ids, MemoryMarshal.Cast<byte, ushort>(sparse.Ids.Data.Span).ToArray().Select(i => (int)i).ToArray());
        TestImages.AssertClose(alone.LogProbs, Floats(sparse.LogProbs), 1e-4);
        if (kind == SparseTargetKind.TopK) TestImages.AssertClose(alone.TailLogMass!, Floats(sparse.TailLogMass), 1e-4);
    }

    private static float[] Floats(Contracts.V1.Tensor tensor) => MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Reference.Dispose();
        directory.Dispose();
    }
}
