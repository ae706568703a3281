using System.Runtime.InteropServices;
using Google.Protobuf;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests.Language;

/// <summary>
/// A served causal language model (tiny, untrained, its output padded past its tokenizer's
/// vocabulary): Describe, dense, top-k and sampled targets against the same checkpoint computed
/// in this process, the cache per sequence, and bad requests.
/// </summary>
public sealed class LanguageModelTeacherTests : IAsyncLifetime
{
    private const int FailedPrecondition = 9, InvalidArgument = 3;
    private readonly TemporaryDirectory directory = new("lm-teacher-tests");
    private TeacherServer server = null!;
    private LanguageModel reference = null!;

    public async Task InitializeAsync()
    {
        // Whatever weights it gets, the reference below loads the very same directory.
        var checkpoint = TinyLanguageModel.Write(directory.File("lm"), fortunes: 300, vocabularySize: 400, paddedVocabulary: 448, contextLength: 24, width: 32);
        reference = HuggingFaceCheckpoint.Load(checkpoint, CPU);
        server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teacher:Name"] = "lm",
            ["Teacher:Checkpoint"] = checkpoint,
            ["Teacher:Device"] = "cpu",
        });
    }

    private int[] Sequences(int count, int length)
    {
        var stream = reference.EncodeEntries(FortunesCorpus.Load().Validation.Take(40));
        return stream.AsSpan(0, count * length).ToArray();
    }

    private SoftTargetsRequest Request(int[] tokens, int count, int length, int k = 0, SparseKind kind = SparseKind.TopK,
        DType ids = DType.Uint16, string? digest = null, DType output = DType.Float32) => new()
    {
        RequestId = "r",
        Teacher = "lm",
        Temperature = 2f,
        OutputDtype = output,
        K = k,
        SparseKind = kind,
        Seed = 17,
        TokenizerDigest = digest ?? reference.Tokenizer.Digest,
        Inputs = new Contracts.V1.Tensor
        {
            Shape = { count, length },
            Dtype = ids,
            Data = ByteString.CopyFrom(ids switch
            {
                DType.Uint16 => MemoryMarshal.AsBytes(tokens.Select(t => (ushort)t).ToArray().AsSpan()).ToArray(),
                DType.Int64 => MemoryMarshal.AsBytes(tokens.Select(t => (long)t).ToArray().AsSpan()).ToArray(),
                _ => MemoryMarshal.AsBytes(tokens.AsSpan()).ToArray(),
            }),
        },
    };

    private static float[] Floats(Contracts.V1.Tensor tensor) => tensor.Dtype == DType.Float16
        ? MemoryMarshal.Cast<byte, Half>(tensor.Data.Span).ToArray().Select(h => (float)h).ToArray()
        : MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();

    [Fact]
    public async Task DescribeSaysItIsALanguageModelWithItsTokenizerAndContext()
    {
        var info = (await server.Client.DescribeAsync(new DescribeRequest { Teacher = "lm" })).Teachers.Single();

        Assert.Equal(TeacherTask.CausalLm, info.Task);
        Assert.Equal(reference.Tokenizer.VocabularySize, info.LanguageModel.VocabularySize);
        Assert.Equal(reference.Tokenizer.Digest, info.LanguageModel.TokenizerDigest);
        Assert.Equal(24, info.LanguageModel.ContextLength);
        Assert.Equal(BpeTokenizer.EndOfTextId, info.LanguageModel.EndOfTextId);
        Assert.Equal(reference.Version, info.Version);
        Assert.Equal("LlamaForCausalLM", info.Architecture);
        Assert.Equal((0.01f, 100f), (info.Limits.MinTemperature, info.Limits.MaxTemperature));
    }

    [Fact]
    public async Task DenseTargetsAreTheInProcessOnesOverTheTokenizersVocabulary()
    {
        var tokens = Sequences(3, 16);
        await using var stream = server.OpenStream();

        var reply = await stream.AskAsync(Request(tokens, 3, 16, ids: DType.Int64));

        Assert.Equal(SoftTargetsResponse.ResultOneofCase.LogProbs, reply.ResultCase);
        Assert.Equal(new long[] { 3, 16, reference.VocabularySize }, reply.LogProbs.Shape);
        var expected = SequenceTargets.Compute(reference, tokens, 3, 16, new SequenceTargetSettings(2f));
        TestImages.AssertClose(expected.LogProbs, Floats(reply.LogProbs), 1e-5);
    }

    [Fact]
    public async Task TopKTargetsCarryUInt16IdsFloat16ValuesAndTheTailMass()
    {
        var tokens = Sequences(2, 20);
        await using var stream = server.OpenStream();

        var reply = await stream.AskAsync(Request(tokens, 2, 20, k: 8, output: DType.Float16));

        var sparse = reply.SparseLogProbs;
        Assert.Equal(SparseKind.TopK, sparse.Kind);
        Assert.Equal(DType.Uint16, sparse.Ids.Dtype);
        Assert.Equal(new long[] { 2, 20, 8 }, sparse.Ids.Shape);
        Assert.Equal(DType.Float16, sparse.LogProbs.Dtype);
        Assert.Equal(new long[] { 2, 20 }, sparse.TailLogMass.Shape);
        var expected = SequenceTargets.Compute(reference, tokens, 2, 20, new SequenceTargetSettings(2f, 8));
        Assert.Equal(expected.Ids, MemoryMarshal.Cast<byte, ushort>(sparse.Ids.Data.Span).ToArray().Select(i => (int)i).ToArray());
        TestImages.AssertClose(expected.LogProbs, Floats(sparse.LogProbs), 1e-2);
        TestImages.AssertClose(expected.TailLogMass!, Floats(sparse.TailLogMass), 1e-2);
    }

    [Fact]
    public async Task SampledTargetsAreTheInProcessDrawsAndComeFromTheCacheTheSecondTime()
    {
        var tokens = Sequences(4, 12);
        await using var stream = server.OpenStream();

        var first = await stream.AskAsync(Request(tokens, 4, 12, k: 32, kind: SparseKind.Sampled));
        var again = await stream.AskAsync(Request(tokens, 4, 12, k: 32, kind: SparseKind.Sampled));

        var expected = SequenceTargets.Compute(reference, tokens, 4, 12, new SequenceTargetSettings(2f, 32, SparseTargetKind.Sampled, 17));
        Assert.Equal(SparseKind.Sampled, first.SparseLogProbs.Kind);
        Assert.Null(first.SparseLogProbs.TailLogMass);
        Assert.Equal(expected.Ids, MemoryMarshal.Cast<byte, ushort>(first.SparseLogProbs.Ids.Data.Span).ToArray().Select(i => (int)i).ToArray());
        TestImages.AssertClose(expected.LogProbs, Floats(first.SparseLogProbs.LogProbs), 1e-5);
        Assert.Equal(0, first.CacheHits);
        Assert.Equal(4, again.CacheHits);
        Assert.Equal(first.SparseLogProbs, again.SparseLogProbs);
    }

    [Fact]
    public async Task AnUncachedBatchIsComputedEachTimeAndLeavesNothingInTheCache()
    {
        var tokens = Sequences(3, 12);
        await using var stream = server.OpenStream();
        SoftTargetsRequest Uncached() { var r = Request(tokens, 3, 12, k: 8); r.Uncached = true; return r; }

        var first = await stream.AskAsync(Uncached());
        var again = await stream.AskAsync(Uncached());
        var cached = await stream.AskAsync(Request(tokens, 3, 12, k: 8));
        var cachedAgain = await stream.AskAsync(Request(tokens, 3, 12, k: 8));

        Assert.Equal((0, 0, 0, 3), (first.CacheHits, again.CacheHits, cached.CacheHits, cachedAgain.CacheHits));
        Assert.Equal(first.SparseLogProbs, again.SparseLogProbs);
        Assert.Equal(first.SparseLogProbs, cached.SparseLogProbs);
    }

    public static TheoryData<string, int> BadRequests => new()
    {
        { "another tokenizer", FailedPrecondition },
        { "id outside the vocabulary", InvalidArgument },
        { "negative id", InvalidArgument },
        { "longer than the context", InvalidArgument },
        { "float32 ids", InvalidArgument },
        { "k over the vocabulary", InvalidArgument },
        { "one-dimensional ids", InvalidArgument },
        { "zero temperature", InvalidArgument },
        { "tiny temperature", InvalidArgument },
        { "negative k", InvalidArgument },
        { "example digests", InvalidArgument },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task ABadBatchGetsItsErrorAndTheStreamAnswersTheNextOne(string problem, int code)
    {
        var tokens = Sequences(2, 8);
        var request = problem switch
        {
            "another tokenizer" => Request(tokens, 2, 8, digest: "0123456789abcdef"),
            "id outside the vocabulary" => Request([.. tokens[..15], reference.VocabularySize], 2, 8, ids: DType.Int32),
            "negative id" => Request([.. tokens[..15], -3], 2, 8, ids: DType.Int32),
            "longer than the context" => Request(Sequences(1, 25), 1, 25),
            "float32 ids" => Request(tokens, 2, 8, ids: DType.Float32),
            "k over the vocabulary" => Request(tokens, 2, 8, k: reference.VocabularySize + 1),
            "one-dimensional ids" => Reshaped(Request(tokens, 2, 8), 16),
            "zero temperature" => WithTemperature(Request(tokens, 2, 8), 0),
            "tiny temperature" => WithTemperature(Request(tokens, 2, 8), 1e-38f),
            "negative k" => Request(tokens, 2, 8, k: -1),
            "example digests" => WithDigests(Request(tokens, 2, 8)),
            _ => throw new ArgumentException(problem),
        };
        await using var stream = server.OpenStream();

        var bad = await stream.AskAsync(request);
        var good = await stream.AskAsync(Request(tokens, 2, 8, k: 4));

        Assert.Equal(SoftTargetsResponse.ResultOneofCase.Error, bad.ResultCase);
        Assert.Equal(code, bad.Error.Code);
        Assert.False(string.IsNullOrWhiteSpace(bad.Error.Message));
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.SparseLogProbs, good.ResultCase);
    }

    private static SoftTargetsRequest Reshaped(SoftTargetsRequest request, long length)
    {
        request.Inputs.Shape.Clear();
        request.Inputs.Shape.Add(length);
        return request;
    }

    private static SoftTargetsRequest WithDigests(SoftTargetsRequest request)
    {
        request.ExampleDigests = Google.Protobuf.ByteString.CopyFrom(new byte[2 * 32]);
        return request;
    }

    private static SoftTargetsRequest WithTemperature(SoftTargetsRequest request, float temperature)
    {
        request.Temperature = temperature;
        return request;
    }

    [Theory]
    [InlineData("tiny temperature", "0.01 to 100")]
    [InlineData("negative k", "k = -1")]
    public async Task ARefusalNamesWhatWasWrong(string problem, string named)
    {
        var tokens = Sequences(2, 8);
        var request = problem == "negative k" ? Request(tokens, 2, 8, k: -1) : WithTemperature(Request(tokens, 2, 8), 1e-38f);
        await using var stream = server.OpenStream();

        var bad = await stream.AskAsync(request);

        Assert.Equal(InvalidArgument, bad.Error.Code);
        Assert.Contains(named, bad.Error.Message);
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        reference.Dispose();
        directory.Dispose();
    }
}
