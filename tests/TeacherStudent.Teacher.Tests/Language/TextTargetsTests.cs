using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests.Language;

/// <summary>
/// A batch sent as texts (for students with another tokenizer): the teacher tokenizes them itself, answers with
/// its ids, each text's length and the bytes every token covers, and its targets are those of the same ids sent
/// as inputs; a text longer than the context is cut to it; mixing texts with ids, or with a tokenizer digest, is refused.
/// </summary>
public sealed class TextTargetsTests(TinyModels models) : IClassFixture<TinyModels>, IAsyncLifetime
{
    private const string Hf = "hf";
    private static readonly TinyModelOptions Model = new() { Family = "qwen3", KvHeads = 2, PaddedVocab = 4, Seed = 9, MaxPositions = 64 };

    private TeacherServer server = null!;
    private LanguageModel reference = null!;

    private static readonly string[] Texts =
    [
        "The teacher reads the question and writes the answer.",
        "Ça va? Élève naïve, 你好，世界！",
        "<|im_start|>user\nCall me Ishmael.<|im_end|>",
        "",
    ];

    public async Task InitializeAsync()
    {
        var model = models.Original(Model);
        reference = HuggingFaceCheckpoint.Load(model, CPU);
        server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teacher:Name"] = Hf,
            ["Teacher:Checkpoint"] = model,
            ["Teacher:Device"] = "cpu",
            ["Teacher:MaxBatch"] = "8",
        });
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        reference.Dispose();
    }

    private static SoftTargetsRequest Request(IEnumerable<string> texts, int k = 8)
    {
        var request = new SoftTargetsRequest { RequestId = "t", Teacher = Hf, Temperature = 2f, OutputDtype = DType.Float32, K = k };
        request.Texts.AddRange(texts);
        return request;
    }

    private static int[] Int32s(Contracts.V1.Tensor tensor) => MemoryMarshal.Cast<byte, int>(tensor.Data.Span).ToArray();

    private static float[] Floats(Contracts.V1.Tensor tensor) => MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();

    [Fact]
    public async Task TextsAreAnsweredWithTheTeachersTokensTheirBytesAndTheTargetsOfThoseTokens()
    {
        // Arrange
        await using var stream = server.OpenStream();
        var tokenizer = (HuggingFaceTokenizer)reference.Tokenizer;

        // Act
        var reply = await stream.AskAsync(Request(Texts));

        // Assert: every text's ids are the teacher tokenizer's, and its spans spell the text's bytes.
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.SparseLogProbs, reply.ResultCase);
        var tokens = reply.TextTokens;
        var length = (int)tokens.Ids.Shape[1];
        Assert.Equal(new long[] { Texts.Length, length }, tokens.Ids.Shape);
        Assert.Equal(new long[] { Texts.Length, length, 2 }, tokens.ByteSpans.Shape);
        var ids = Int32s(tokens.Ids);
        var spans = Int32s(tokens.ByteSpans);
        for (var b = 0; b < Texts.Length; b++)
        {
            var expected = tokenizer.Encode(Texts[b]);
            Assert.Equal(expected.Length, tokens.Lengths[b]);
            Assert.Equal(expected, ids.AsSpan(b * length, expected.Length).ToArray());
            var bytes = Encoding.UTF8.GetBytes(Texts[b]);
            var spelt = new List<byte>();
            for (var j = 0; j < expected.Length; j++)
            {
                var (start, end) = (spans[2 * (b * length + j)], spans[2 * (b * length + j) + 1]);
                spelt.AddRange(bytes[start..end]);
            }
            Assert.Equal(bytes, spelt.ToArray());
        }
        Assert.Equal(0, tokens.Lengths[^1]); // the empty text: a row of padding
        Assert.Contains(ids, id => id == reference.Tokenizer.Encode("<|im_start|>")[0]); // a special token written in a text is its id

        // ...and the targets are those of the same ids computed in process (the padding included).
        var targets = SequenceTargets.Compute(reference, ids, Texts.Length, length, new SequenceTargetSettings(2f, 8));
        Assert.Equal(targets.Ids, SparseIds(reply.SparseLogProbs.Ids));
        TestImages.AssertClose(targets.LogProbs, Floats(reply.SparseLogProbs.LogProbs), 1e-5);
        TestImages.AssertClose(targets.TailLogMass!, Floats(reply.SparseLogProbs.TailLogMass), 1e-5);
        Assert.Equal(reference.Version, reply.TeacherVersion);
    }

    [Fact]
    public async Task ATextLongerThanTheContextIsCutToItAndTheSpansSayWhatWasScored()
    {
        // Arrange
        await using var stream = server.OpenStream();
        var text = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 40));

        // Act
        var reply = await stream.AskAsync(Request([text, "short"], k: 0));

        // Assert
        Assert.Equal(reference.ContextLength, reply.TextTokens.Lengths[0]);
        Assert.Equal(new long[] { 2, reference.ContextLength, reference.VocabularySize }, reply.LogProbs.Shape);
        var spans = Int32s(reply.TextTokens.ByteSpans);
        var scored = spans[2 * (reference.ContextLength - 1) + 1];
        Assert.True(scored > 0 && scored < Encoding.UTF8.GetByteCount(text), $"the last token scored ends at byte {scored}");
    }

    public static TheoryData<string, StatusCode, string> Refusals => new()
    {
        { "inputs", StatusCode.InvalidArgument, "both inputs and texts" },
        { "digest", StatusCode.InvalidArgument, "texts are tokenized by teacher 'hf' itself" },
        { "too-many", StatusCode.ResourceExhausted, "takes at most 8 per request" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task ATextBatchThatAlsoSendsIdsOrADigestOrTooManyTextsIsRefusedAndTheStreamGoesOn(string fault, StatusCode code, string named)
    {
        // Arrange
        await using var stream = server.OpenStream();
        var request = Request(fault == "too-many" ? Enumerable.Repeat("text", 9) : ["text"]);
        if (fault == "inputs")
            request.Inputs = new Contracts.V1.Tensor { Shape = { 1, 2 }, Dtype = DType.Int32, Data = ByteString.CopyFrom(new byte[8]) };
        if (fault == "digest") request.TokenizerDigest = reference.Tokenizer.Digest;

        // Act
        var refused = await stream.AskAsync(request);
        var answered = await stream.AskAsync(Request(["text"]));

        // Assert
        Assert.Equal((int)code, refused.Error.Code);
        Assert.Contains(named, refused.Error.Message);
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.SparseLogProbs, answered.ResultCase);
    }

    private static int[] SparseIds(Contracts.V1.Tensor tensor) => tensor.Dtype == DType.Uint16
        ? MemoryMarshal.Cast<byte, ushort>(tensor.Data.Span).ToArray().Select(i => (int)i).ToArray()
        : Int32s(tensor);
}
