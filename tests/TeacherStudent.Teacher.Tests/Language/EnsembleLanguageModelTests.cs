using System.Runtime.InteropServices;
using Google.Protobuf;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests.Language;

/// <summary>
/// An ensemble of two served language models that share a tokenizer (Ensembles:0, weights 1 and 3): its targets
/// are the mixture of the members' dense distributions, cut as asked, and cached under the ensemble.
/// </summary>
public sealed class EnsembleLanguageModelTests : IAsyncLifetime
{
    private const int Sequences = 3, Length = 10;
    private readonly TemporaryDirectory directory = new("lm-ensemble-tests");
    private LanguageModel first = null!, second = null!;
    private TeacherServer server = null!;
    private int[] tokens = [];

    public async Task InitializeAsync()
    {
        var a = TinyLanguageModel.Write(directory.File("a"), seed: 1);
        var b = TinyLanguageModel.Write(directory.File("b"), seed: 2);
        first = HuggingFaceCheckpoint.Load(a, CPU);
        second = HuggingFaceCheckpoint.Load(b, CPU);
        tokens = Enumerable.Range(0, Sequences * Length).Select(i => (i * 31 + 7) % first.VocabularySize).ToArray();
        server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teachers:0:Name"] = "a",
            ["Teachers:0:Checkpoint"] = a,
            ["Teachers:1:Name"] = "b",
            ["Teachers:1:Checkpoint"] = b,
            ["Ensembles:0:Name"] = "both",
            ["Ensembles:0:Members:0:Teacher"] = "a",
            ["Ensembles:0:Members:1:Teacher"] = "b",
            ["Ensembles:0:Members:1:Weight"] = "3",
        });
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        first.Dispose();
        second.Dispose();
        directory.Dispose();
    }

    private SoftTargetsRequest Request(int k) => new()
    {
        RequestId = $"k{k}",
        Teacher = "both",
        Temperature = 2f,
        K = k,
        SparseKind = SparseKind.TopK,
        Inputs = new Contracts.V1.Tensor
        {
            Shape = { Sequences, Length },
            Dtype = DType.Int32,
            Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(tokens.AsSpan())),
        },
    };

    // The mixture of the two models' dense targets at T = 2 (weights 1 and 3), worked out in doubles.
    private double[] ExpectedDense()
    {
        var dense = new SequenceTargetSettings(2f);
        var a = SequenceTargets.Compute(first, tokens, Sequences, Length, dense).LogProbs;
        var b = SequenceTargets.Compute(second, tokens, Sequences, Length, dense).LogProbs;
        Assert.True(Enumerable.Range(0, a.Length).Max(i => Math.Abs(a[i] - b[i])) > 0.1, "the two models answer alike; the test proves nothing.");
        return Enumerable.Range(0, a.Length).Select(i => Math.Log(0.25 * Math.Exp(a[i]) + 0.75 * Math.Exp(b[i]))).ToArray();
    }

    private static float[] Floats(Contracts.V1.Tensor tensor) => MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();

    [Fact]
    public async Task DenseAndTopKTargetsOfTheEnsembleAreTheMixtureOfItsMembersAndAreCached()
    {
        // Arrange
        var expected = ExpectedDense();
        var vocabulary = first.VocabularySize;
        await using var stream = server.OpenStream();

        // Act
        var dense = await stream.AskAsync(Request(0));
        var top = await stream.AskAsync(Request(4));
        var again = await stream.AskAsync(Request(4));

        // Assert
        TestImages.AssertSucceeded(dense);
        var version = EnsembleTargets.Version(EnsembleCombination.Mixture,
            [("a", $"{first.Version}/{first.Facts.ComputeDType}", 1.0), ("b", $"{second.Version}/{second.Facts.ComputeDType}", 3.0)]);
        Assert.Equal(version, dense.TeacherVersion);
        TestImages.AssertClose(expected.Select(v => (float)v).ToArray(), Floats(dense.LogProbs), 1e-5);
        var ids = MemoryMarshal.Cast<byte, ushort>(top.SparseLogProbs.Ids.Data.Span).ToArray();
        var values = Floats(top.SparseLogProbs.LogProbs);
        for (int position = 0; position < Sequences * Length; position++)
        {
            var row = expected.AsSpan(position * vocabulary, vocabulary).ToArray();
            var best = Enumerable.Range(0, vocabulary).OrderByDescending(v => row[v]).Take(4).ToArray();
            for (int j = 0; j < 4; j++) Assert.Equal(row[best[j]], values[position * 4 + j], 1e-5);
            Assert.Equal(best.ToHashSet(), ids.AsSpan(position * 4, 4).ToArray().Select(i => (int)i).ToHashSet());
        }
        Assert.Equal((0, 0, Sequences), (dense.CacheHits, top.CacheHits, again.CacheHits));
        Assert.Equal(top.SparseLogProbs, again.SparseLogProbs);
    }

    [Fact]
    public async Task DescribeSaysTheEnsembleIsALanguageModelWithItsMembersTokenizer()
    {
        var both = (await server.Client.DescribeAsync(new DescribeRequest { Teacher = "both" })).Teachers.Single();

        Assert.Equal((TeacherTask.CausalLm, "ensemble-mixture"), (both.Task, both.Architecture));
        Assert.Equal((first.Tokenizer.Digest, first.VocabularySize), (both.LanguageModel.TokenizerDigest, both.LanguageModel.VocabularySize));
        Assert.Equal(["a", "b"], both.Ensemble.Members.Select(m => m.Teacher));
    }

    [Fact]
    public async Task ASequenceTooLongIsRefusedInTheEnsemblesName()
    {
        await using var stream = server.OpenStream();
        var request = Request(0);
        var longer = Enumerable.Repeat(1, first.ContextLength + 1).ToArray();
        request.Inputs = new Contracts.V1.Tensor { Shape = { 1, longer.Length }, Dtype = DType.Int32, Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(longer.AsSpan())) };

        var response = await stream.AskAsync(request);

        Assert.Equal(3, response.Error.Code); // INVALID_ARGUMENT
        Assert.Contains("longer than teacher 'both''s context", response.Error.Message);
    }
}
