using System.Runtime.InteropServices;
using Google.Protobuf;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;
using Xunit.Abstractions;

namespace TeacherStudent.Teacher.Tests.Language;

/// <summary>
/// Hugging Face model directories served as teachers: the log-probabilities the service returns
/// equal those of an independent reference (Debian's python3-torch running a short forward written
/// from transformers' semantics, <see cref="HuggingFaceReference"/>) computed from the same files,
/// for each family, single and sharded, float32 / bfloat16 / float16, tied and untied heads and
/// grouped-query attention; and each plausible mistake (an interleaved rotation, key/value heads
/// mapped to the wrong queries, a dropped bias, bfloat16 read as float16) is far from what is served.
/// </summary>
public sealed class HuggingFaceTeacherTests(ITestOutputHelper output) : IDisposable
{
    private const double Tolerance = 1e-4;
    private readonly TemporaryDirectory directory = new("hf-teacher-tests");

    // Two rows of 10 ids, below every tiny tokenizer's 300, including its special tokens' 297-299.
    private static readonly int[][] Rows = [[3, 141, 59, 26, 297, 53, 58, 97, 93, 238], [299, 62, 64, 33, 83, 279, 50, 28, 84, 19]];

    public static TheoryData<string, TinyModelOptions> Models => new()
    {
        { "llama, float32, one file, untied, 2 of 4 kv heads, llama3 rope", new TinyModelOptions { Family = "llama", Hidden = 64, Heads = 4, KvHeads = 2, RopeScaling = "llama3" } },
        { "llama, bfloat16, sharded, tied, biases, linear rope", new TinyModelOptions { Family = "llama", Dtype = "bfloat16", Sharded = true, Tied = true, AttentionBias = true, RopeScaling = "linear" } },
        { "mistral, float16, one file, one kv head", new TinyModelOptions { Family = "mistral", Dtype = "float16", KvHeads = 1, RopeTheta = 1e6 } },
        { "qwen2, bfloat16, sharded, untied, padded vocabulary", new TinyModelOptions { Family = "qwen2", Dtype = "bfloat16", Sharded = true, PaddedVocab = 20 } },
        { "qwen3, float32, one file, tied, head_dim 24", new TinyModelOptions { Family = "qwen3", Tied = true, HeadDim = 24 } },
        { "qwen3, bfloat16, sharded, untied, as many kv heads as heads", new TinyModelOptions { Family = "qwen3", Dtype = "bfloat16", Sharded = true, KvHeads = 4 } },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public async Task TheServedLogProbsAreTheReferencesAtTemperatureOneAndTwo(string description, TinyModelOptions options)
    {
        var model = Write(description, options);
        await using var server = await Serve(model);

        foreach (var temperature in new[] { 1f, 2f })
        {
            var served = await DenseAsync(server, temperature);
            var reference = HuggingFaceReference.LogProbs(model, Rows, temperature, vocabulary: options.Vocab);

            var difference = MaxDifference(served, reference);
            output.WriteLine($"{description}, T = {temperature}: max |served - reference| = {difference:E2}");
            Assert.True(difference <= Tolerance, $"{description}, T = {temperature}: served and reference differ by up to {difference}");
        }
    }

    [Theory]
    [InlineData("qwen3", "float32", 2, "interleaved-rope")]
    [InlineData("llama", "float32", 2, "kv-heads-tiled")]
    [InlineData("qwen2", "float32", 2, "no-bias")]
    [InlineData("llama", "bfloat16", 2, "bf16-as-f16")]
    public async Task EachPlausibleMistakeIsFarFromWhatIsServed(string family, string dtype, int kvHeads, string mistake)
    {
        var model = Write(mistake, new TinyModelOptions { Family = family, Dtype = dtype, KvHeads = kvHeads });
        await using var server = await Serve(model);

        var served = await DenseAsync(server, 1f);
        var right = MaxDifference(served, HuggingFaceReference.LogProbs(model, Rows, 1.0, vocabulary: 300));
        var wrong = MaxDifference(served, HuggingFaceReference.LogProbs(model, Rows, 1.0, vocabulary: 300, variant: mistake));

        output.WriteLine($"{mistake}: max |served - right| = {right:E2}, max |served - wrong| = {wrong:E2}");
        Assert.True(right <= Tolerance, $"the right forward differs by {right}");
        Assert.True(wrong > 1e-2, $"the forward with {mistake} differs by only {wrong}: the comparison could not tell it apart");
    }

    [Fact]
    public async Task DescribeReportsTheArchitectureSizesDTypesAndSpecialTokens()
    {
        var model = Write("describe", new TinyModelOptions { Family = "qwen3", Dtype = "bfloat16", Tied = true, PaddedVocab = 20 });
        await using var server = await Serve(model);

        var info = (await server.Client.DescribeAsync(new DescribeRequest { Teacher = "hf" })).Teachers.Single();

        Assert.Equal(TeacherTask.CausalLm, info.Task);
        Assert.Equal("Qwen3ForCausalLM", info.Architecture);
        var lm = info.LanguageModel;
        Assert.Equal(300, lm.VocabularySize); // the tokenizer's ids, not the 320 rows of the padded embedding
        Assert.Equal(128, lm.ContextLength);
        Assert.Equal(("bfloat16", "float32"), (lm.WeightDtype, lm.ComputeDtype));
        // 320x64 embedding (also the head) + per layer: 2 norms of 64, q 64->64, k and v 64->32, o 64->64, 2 head norms of 16, 3 x 64x96; + final norm.
        Assert.Equal(320 * 64 + 2 * (2 * 64 + 64 * 64 + 2 * 64 * 32 + 64 * 64 + 2 * 16 + 3 * 64 * 96) + 64, lm.ParameterCount);
        // The script's tokenizer ends with <|endoftext|> (bos and pad) and <|im_start|>, <|im_end|> (eos).
        Assert.Equal((297, 297), (lm.BosTokenId, lm.PadTokenId));
        Assert.Equal(new[] { 299 }, lm.EosTokenIds);
        Assert.Equal(299, lm.EndOfTextId);
        Assert.Equal(16, info.Version.Length);
    }

    private string Write(string name, TinyModelOptions options)
    {
        var model = directory.File(string.Concat(name.Where(char.IsLetterOrDigit)));
        HuggingFaceReference.WriteModel(model, options);
        return model;
    }

    private static Task<TeacherServer> Serve(string model) => TeacherServer.StartAsync(new Dictionary<string, string>
    {
        ["Teacher:Name"] = "hf",
        ["Teacher:Checkpoint"] = model,
        ["Teacher:Device"] = "cpu",
    });

    private static async Task<float[]> DenseAsync(TeacherServer server, float temperature)
    {
        await using var stream = server.OpenStream();
        var reply = await stream.AskAsync(new SoftTargetsRequest
        {
            RequestId = "r",
            Teacher = "hf",
            Temperature = temperature,
            OutputDtype = DType.Float32,
            Inputs = new Contracts.V1.Tensor
            {
                Shape = { Rows.Length, Rows[0].Length },
                Dtype = DType.Int32,
                Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(Rows.SelectMany(r => r).ToArray().AsSpan())),
            },
        });
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.LogProbs, reply.ResultCase);
        return MemoryMarshal.Cast<byte, float>(reply.LogProbs.Data.Span).ToArray();
    }

    private static double MaxDifference(float[] served, double[][][] reference)
    {
        var flat = reference.SelectMany(row => row.SelectMany(position => position)).ToArray();
        Assert.Equal(flat.Length, served.Length);
        return flat.Zip(served, (r, s) => Math.Abs(r - s)).Max();
    }

    public void Dispose() => directory.Dispose();
}
