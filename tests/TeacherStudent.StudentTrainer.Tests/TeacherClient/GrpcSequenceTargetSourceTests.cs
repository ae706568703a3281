using Grpc.Core;
using Grpc.Net.Client;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.StudentTrainer.Language;
using TeacherStudent.StudentTrainer.TeacherClient;
using static TorchSharp.torch;

namespace TeacherStudent.StudentTrainer.Tests.TeacherClient;

/// <summary>
/// The gRPC source of language-model targets against a real teacher service process serving a
/// tiny language model, beside the in-process source over the same checkpoint.
/// </summary>
public sealed class GrpcSequenceTargetSourceTests : IAsyncLifetime
{
    private readonly TemporaryDirectory directory = new("grpc-sequence-source-tests");
    private RunningProcess teacher = null!;
    private GrpcChannel channel = null!;
    private string address = "";
    private ModelSequenceTargetSource local = null!;
    private LanguageModel model = null!;

    public async Task InitializeAsync()
    {
        var checkpoint = TinyLanguageModel.Write(directory.File("lm"), vocabularySize: 350, paddedVocabulary: 384);
        local = new ModelSequenceTargetSource("lm", model = HuggingFaceCheckpoint.Load(checkpoint, CPU));
        teacher = RunningProcess.Start(Builds.Teacher,
            ["--urls", "http://127.0.0.1:0", "--Teacher:Name=lm", $"--Teacher:Checkpoint={checkpoint}", "--Teacher:Device=cpu"]);
        address = await teacher.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1));
        channel = GrpcChannel.ForAddress(address);
    }

    private GrpcSequenceTargetSource Source(string digest, string dtype = "float32") =>
        new(new Teacher.TeacherClient(channel), new TeacherClientOptions { Teacher = "lm", TargetsDtype = dtype, TimeoutSeconds = 30 },
            new TeacherRetry(TimeSpan.FromSeconds(5), _ => { }))
        { TokenizerDigest = digest };

    private int[] Tokens(int count) => model.EncodeEntries(FortunesCorpus.Load().Validation.Take(20))[..count];

    [Fact]
    public async Task DescribeGivesTheTeachersVocabularyTokenizerAndContext()
    {
        await using var source = Source(model.Tokenizer.Digest);

        var identity = await source.DescribeAsync(CancellationToken.None);

        Assert.Equal(await local.DescribeAsync(CancellationToken.None), identity);
    }

    [Theory]
    [InlineData(0, SparseTargetKind.TopK)]
    [InlineData(8, SparseTargetKind.TopK)]
    [InlineData(16, SparseTargetKind.Sampled)]
    public async Task TargetsOverTheWireAreTheInProcessOnes(int k, SparseTargetKind kind)
    {
        await using var source = Source(model.Tokenizer.Digest);
        var tokens = Tokens(3 * 12);
        var settings = new SequenceTargetSettings(1.5f, k, kind, Seed: 3);

        var served = await source.GetAsync(tokens, 3, 12, settings, CancellationToken.None);
        var expected = await local.GetAsync(tokens, 3, 12, settings, CancellationToken.None);

        Assert.Equal(expected.VocabularySize, served.VocabularySize);
        Assert.Equal(expected.Ids, served.Ids);
        Assert.Equal(expected.TeacherVersion, served.TeacherVersion);
        Assert.Equal(expected.LogProbs.Length, served.LogProbs.Length);
        for (int i = 0; i < expected.LogProbs.Length; i++) Assert.Equal(expected.LogProbs[i], served.LogProbs[i], 1e-5f);
        if (kind == SparseTargetKind.TopK && k > 0)
            for (int i = 0; i < expected.TailLogMass!.Length; i++) Assert.Equal(expected.TailLogMass[i], served.TailLogMass![i], 1e-5f);
    }

    [Fact]
    public async Task AStudentWithAnotherTokenizerIsRefusedWithFailedPrecondition()
    {
        await using var source = Source("0123456789abcdef");

        var error = await Assert.ThrowsAsync<TeacherBatchException>(() =>
            source.GetAsync(Tokens(8), 1, 8, new SequenceTargetSettings(1f), CancellationToken.None));

        Assert.Equal(StatusCode.FailedPrecondition, error.Code);
        Assert.Contains(model.Tokenizer.Digest, error.Message);
    }

    [Fact]
    public async Task MeasuringTargetsGivesExactBytesPerTokenAndLessKlForMoreTokens()
    {
        // Arrange: float16 values; the vocabulary fits uint16 ids.
        var options = new TeacherClientOptions { Address = address, Teacher = "lm", TargetsDtype = "float16", TimeoutSeconds = 30, RetrySeconds = 5 };
        var output = directory.File("targets.json");

        // Act
        var figures = await TargetMeasurement.RunAsync(options, directory.File("lm"), sequences: 12, batch: 4, repeats: 1, output, CancellationToken.None);

        // Assert: values 2 bytes, ids 2 bytes, one tail value per token for top-k.
        var byShape = figures.BytesPerToken.ToDictionary(f => f.Targets);
        Assert.Equal(model.VocabularySize * 2, byShape["dense"].Bytes, 6);
        Assert.Equal(8 * 2 + 8 * 2 + 2, byShape["top8"].Bytes, 6);
        Assert.Equal(32 * 2 + 32 * 2 + 2, byShape["top32"].Bytes, 6);
        Assert.Equal(32 * 2 + 32 * 2, byShape["sampled32"].Bytes, 6);
        Assert.All(figures.BytesPerToken, f => Assert.True(f.WireBytes > f.Bytes, $"{f.Targets}: the message is larger than its tensors."));
        Assert.InRange(byShape["dense"].Kl, 0, 1e-4);
        Assert.True(byShape["top8"].Kl > byShape["top32"].Kl, $"top8 KL {byShape["top8"].Kl} <= top32 KL {byShape["top32"].Kl}");
        Assert.True(byShape["top32"].Kl > byShape["dense"].Kl);
        Assert.Equal(12 * 16, figures.Tokens);
        Assert.True(figures.ServedTokensPerSecond > 0 && figures.InProcessTokensPerSecond > 0);
        Assert.True(File.Exists(output));
    }

    public async Task DisposeAsync()
    {
        channel.Dispose();
        teacher.Dispose();
        local.Dispose();
        directory.Dispose();
        await Task.CompletedTask;
    }
}
