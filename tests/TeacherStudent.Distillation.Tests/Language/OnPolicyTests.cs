using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Tests.Training;
using TeacherStudent.Distillation.Text;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Language;

/// <summary>
/// On-policy distillation: continuations sampled from the student with teacher-mixed sampling,
/// and a divergence taken on the generated positions only.
/// </summary>
[Collection(TorchGlobalRandomness.Name)]
public sealed class OnPolicyTests : IDisposable
{
    private const int Sequences = 16, PromptLength = 12, NewTokens = 20;
    private const int Marker = 300;  // a token the tiny untrained student almost never draws (p ~ 1/512)

    private readonly Llama student;
    private readonly TemporaryDirectory directory = new();

    public OnPolicyTests()
    {
        manual_seed(4);
        student = new Llama(TinyLanguageModels.StudentSpec).InitialiseRandomly();
    }

    private static int[] Prompts() => TinyLanguageModels.Train.RandomWindows(Sequences, PromptLength, new Random(8));

    private static int Count(Rollout rollout, int token)
    {
        int count = 0;
        for (int s = 0; s < rollout.Sequences; s++)
            for (int g = 0; g < rollout.Generated[s]; g++)
                if (rollout.Tokens[s * rollout.Length + rollout.PromptLength + g] == token) count++;
        return count;
    }

    [Fact]
    public async Task WithTeacherMixingOneEveryGeneratedTokenIsATeacherDraw()
    {
        var teacher = new OneTokenTeacher(Marker);

        var rollout = await new OnPolicyRollout(teacher, 1.0, TinyLanguageModels.VocabularySize, BpeTokenizer.EndOfTextId)
            .RunAsync(student, Prompts(), Sequences, PromptLength, NewTokens, seed: 1, CancellationToken.None);

        Assert.Equal(Sequences * NewTokens, rollout.GeneratedTokens);
        Assert.Equal(rollout.GeneratedTokens, rollout.TeacherDraws);
        Assert.Equal(rollout.GeneratedTokens, Count(rollout, Marker));
        Assert.Equal(Prompts(), Enumerable.Range(0, Sequences).SelectMany(s => rollout.Tokens.Skip(s * rollout.Length).Take(PromptLength)));
        // Every draw was asked as one sampled token per position at temperature 1, of the current prefix.
        Assert.All(teacher.Requests, r => Assert.Equal((1, SparseTargetKind.Sampled, 1f), (r.Settings.K, r.Settings.Kind, r.Settings.Temperature)));
        Assert.Equal(Enumerable.Range(PromptLength, NewTokens), teacher.Requests.Select(r => r.Length));
    }

    [Fact]
    public async Task WithTeacherMixingZeroEveryTokenIsTheStudentsAndTheTeacherIsNeverAsked()
    {
        var teacher = new OneTokenTeacher(Marker);

        var rollout = await new OnPolicyRollout(teacher, 0.0, TinyLanguageModels.VocabularySize, BpeTokenizer.EndOfTextId)
            .RunAsync(student, Prompts(), Sequences, PromptLength, NewTokens, seed: 1, CancellationToken.None);

        Assert.Empty(teacher.Requests);
        Assert.Equal(0, rollout.TeacherDraws);
        Assert.True(rollout.GeneratedTokens > 0);
    }

    [Fact]
    public async Task WithTheDefaultMixingAboutAFifthOfTheTokensAreTheTeachersAndOnlyThoseSequencesAreSent()
    {
        var teacher = new OneTokenTeacher(Marker);

        var rollout = await new OnPolicyRollout(teacher, 0.2, TinyLanguageModels.VocabularySize, BpeTokenizer.EndOfTextId)
            .RunAsync(student, Prompts(), Sequences, PromptLength, NewTokens, seed: 1, CancellationToken.None);

        // 320 tokens, 64 expected from the teacher, standard deviation about 7.
        Assert.Equal(Sequences * NewTokens, rollout.GeneratedTokens);
        Assert.InRange(rollout.TeacherDraws, 40, 90);
        Assert.InRange(Count(rollout, Marker), rollout.TeacherDraws, rollout.TeacherDraws + 2);
        Assert.Equal(rollout.TeacherDraws, teacher.Requests.Sum(r => r.Sequences));
    }

    [Fact]
    public async Task AContinuationStopsAtEndOfTextAndThePositionsAfterItAreNotScored()
    {
        var teacher = new OneTokenTeacher(BpeTokenizer.EndOfTextId);

        var rollout = await new OnPolicyRollout(teacher, 1.0, TinyLanguageModels.VocabularySize, BpeTokenizer.EndOfTextId)
            .RunAsync(student, Prompts(), Sequences, PromptLength, NewTokens, seed: 1, CancellationToken.None);

        Assert.All(rollout.Generated, g => Assert.Equal(1, g));
        Assert.Single(teacher.Requests);
        var weights = rollout.GeneratedPositionWeights(lengthNormalised: false);
        Assert.Equal(Sequences, weights.Sum());
    }

    [Fact]
    public async Task TheStudentsDrawsAreThoseOfItsFullForwardOfEachPrefix()
    {
        // Arrange: a student whose large random weights make its next token depend sharply on the context
        // (the shared one's is nearly uniform whatever it reads); two sequences, half the draws the teacher's,
        // so that the student often has several tokens to catch up on (when both went to the teacher); and
        // a reference that reads every prefix whole.
        manual_seed(5);
        using var student = new Llama(TinyLanguageModels.StudentSpec).InitialiseRandomly(std: 0.3);
        const int sequences = 2;
        var prompts = Prompts()[..(sequences * PromptLength)];
        const double mixing = 0.5;
        const long seed = 3;
        var expected = new List<int>[sequences];
        var tokens = new List<int>[sequences];
        for (int s = 0; s < sequences; s++)
        {
            tokens[s] = [.. prompts.AsSpan(s * PromptLength, PromptLength).ToArray()];
            expected[s] = [];
        }
        var coins = new Random(unchecked((int)seed));
        using (var generator = new Generator(unchecked((ulong)seed)))
        using (no_grad())
        {
            student.eval();
            for (int t = 0; t < NewTokens; t++)
            {
                var fromStudent = new List<int>();
                for (int s = 0; s < sequences; s++)
                    if (!(coins.NextDouble() < mixing)) fromStudent.Add(s);
                if (fromStudent.Count > 0)
                {
                    using var scope = NewDisposeScope();
                    var input = tensor(fromStudent.SelectMany(s => tokens[s]).Select(id => (long)id).ToArray(), [fromStudent.Count, PromptLength + t]);
                    var last = student.forward(input).select(1, -1).narrow(-1, 0, TinyLanguageModels.VocabularySize);
                    var drawn = TokenSampler.Next(last, 1, 1, generator).to(ScalarType.Int32).data<int>().ToArray();
                    for (int i = 0; i < fromStudent.Count; i++) tokens[fromStudent[i]].Add(drawn[i]);
                }
                for (int s = 0; s < sequences; s++)
                    if (!fromStudent.Contains(s)) tokens[s].Add(Marker);
            }
            student.train();
        }
        var teacher = new OneTokenTeacher(Marker);

        // Act
        var rollout = await new OnPolicyRollout(teacher, mixing, TinyLanguageModels.VocabularySize, BpeTokenizer.EndOfTextId)
            .RunAsync(student, prompts, sequences, PromptLength, NewTokens, seed, CancellationToken.None);

        // Assert (the tiny student draws neither end-of-text nor the marker here: every sequence runs to the end)
        Assert.True(teacher.Requests.Count is > 0 and < NewTokens, $"{teacher.Requests.Count} steps asked the teacher");
        Assert.True(Enumerable.Range(0, NewTokens).Any(t => teacher.Requests.Count(r => r.Length == PromptLength + t) == 1
                                                          && tokens.All(seq => seq[PromptLength + t] == Marker)),
            "no step sent both sequences to the teacher: the student never caught up on several tokens");
        for (int s = 0; s < sequences; s++)
            Assert.Equal(tokens[s], rollout.Tokens.Skip(s * rollout.Length).Take(rollout.Length));
    }

    [Fact]
    public void OnlyThePositionsThatPredictAGeneratedTokenHaveWeight()
    {
        // Prompts of 3, room for 4 new tokens: the first sequence generated 4, the second stopped after 2.
        var rollout = new Rollout(new int[2 * 7], 2, 7, 3, [4, 2], 0, []);

        var plain = rollout.GeneratedPositionWeights(lengthNormalised: false);
        var normalised = rollout.GeneratedPositionWeights(lengthNormalised: true);

        // Input position j predicts token j + 1; the generated tokens are 3..6 and 3..4.
        Assert.Equal([0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0], plain);
        Assert.Equal([0, 0, 0.25f, 0.25f, 0.25f, 0.25f, 0, 0, 0.5f, 0.5f, 0, 0], normalised);
    }

    [Fact]
    public void TheDivergenceOnGeneratedPositionsDoesNotSeeWhatTheTeacherSaysAboutThePrompt()
    {
        using var scope = NewDisposeScope();
        var rollout = new Rollout(new int[2 * 7], 2, 7, 3, [4, 2], 0, []);
        var weights = tensor(rollout.GeneratedPositionWeights(lengthNormalised: false));
        manual_seed(2);
        var studentLogits = randn(12, 5);
        var teacher = nn.functional.log_softmax(randn(12, 5), -1);
        var objective = new SequenceObjective(new ForwardKl(), temperature: 2, alpha: 1, vocabularySize: 5);
        float Loss(Tensor t) => objective.Distillation(studentLogits, Batch(t), weights).item<float>();

        var original = Loss(teacher);
        var promptChanged = Loss(teacher.index_put_(nn.functional.log_softmax(randn(5), -1), tensor(new long[] { 0 })));
        var generatedChanged = Loss(teacher.index_put_(nn.functional.log_softmax(randn(5), -1), tensor(new long[] { 3 })));

        Assert.Equal(original, promptChanged);
        Assert.NotEqual(original, generatedChanged, 4);
    }

    [Fact]
    public async Task AnOnPolicyRunLearnsFromItsOwnSamplesScoredByTheTeacher()
    {
        using var teacher = new RecordingTeacher(TinyLanguageModels.Teacher());
        var settings = TinyLanguageModels.Student(LanguageTrainingMode.OnPolicy, steps: 16) with { NewTokens = 8, Alpha = 0.5, LengthNormalisation = true };
        var run = TinyLanguageModels.Run(settings, directory.File("on-policy"), teacher);

        var result = await run.RunAsync(CancellationToken.None);

        Assert.InRange(result.GeneratedTokens, 16 * 16, 16 * 16 * 8);
        Assert.InRange(result.TeacherDraws, 1, result.GeneratedTokens / 2);
        // Per step: the teacher's draws on prefixes, then one scoring of the whole windows (dense, at T).
        var scorings = teacher.Requests.Where(r => r.Settings.K == 0).ToArray();
        Assert.Equal(16, scorings.Length);
        Assert.All(scorings, r => Assert.Equal((16, TinyLanguageModels.ContextLength), (r.Sequences, r.Length)));
        Assert.True(result.Test.Perplexity < 0.75 * TinyLanguageModels.VocabularySize, $"test perplexity {result.Test.Perplexity:0.0}");
    }

    [Theory]
    [InlineData(1.0, new[] { 1, 2, 3, 4, 5, 6, 7, 8 })]
    [InlineData(0.5, new[] { 2, 4, 6, 8 })]
    [InlineData(0.25, new[] { 4, 8 })]
    public void AnOnPolicyFractionSpreadsTheRolloutStepsEvenly(double fraction, int[] rolloutSteps)
    {
        var settings = new LanguageTrainingSettings { Mode = LanguageTrainingMode.OnPolicy, OnPolicyFraction = fraction };

        Assert.Equal(rolloutSteps, Enumerable.Range(1, 8).Where(settings.IsRolloutStep));
    }

    [Fact]
    public async Task WithHalfTheStepsOnPolicyTheOthersAreOnlineStepsOnCorpusWindows()
    {
        using var teacher = new RecordingTeacher(TinyLanguageModels.Teacher());
        var settings = TinyLanguageModels.Student(LanguageTrainingMode.OnPolicy, steps: 4) with { NewTokens = 4, OnPolicyFraction = 0.5 };

        var result = await TinyLanguageModels.Run(settings, directory.File("half"), teacher).RunAsync(CancellationToken.None);

        // Every step asks for dense targets of 16 windows once; only the two rollout steps also ask for draws.
        Assert.Equal(4, teacher.Requests.Count(r => r.Settings.K == 0));
        Assert.InRange(result.GeneratedTokens, 2 * 16, 2 * 16 * 4);
        Assert.Equal(result.TeacherDraws, teacher.Requests.Where(r => r.Settings.K == 1).Sum(r => r.Sequences));
    }

    private static SequenceTargetBatch Batch(Tensor logProbs) =>
        new(2, 6, 5, new SequenceTargetSettings(2f), logProbs.data<float>().ToArray(), null, null, "v");

    public void Dispose()
    {
        student.Dispose();
        directory.Dispose();
    }

    /// <summary>A teacher whose every sampled token is <paramref name="token"/>; it remembers what it was asked.</summary>
    private sealed class OneTokenTeacher(int token) : ISequenceTargetSource
    {
        public List<(int Sequences, int Length, SequenceTargetSettings Settings)> Requests { get; } = [];

        public Task<LanguageTeacherIdentity> DescribeAsync(CancellationToken cancellationToken) =>
            Task.FromResult(new LanguageTeacherIdentity("one-token", "v1", TinyLanguageModels.VocabularySize, TinyLanguageModels.Tokenizer.Digest, 64));

        public Task<SequenceTargetBatch> GetAsync(ReadOnlyMemory<int> tokens, int sequences, int length, SequenceTargetSettings settings,
            CancellationToken cancellationToken)
        {
            Requests.Add((sequences, length, settings));
            int n = sequences * length * settings.K;
            return Task.FromResult(new SequenceTargetBatch(sequences, length, TinyLanguageModels.VocabularySize, settings,
                new float[n], Enumerable.Repeat(token, n).ToArray(), null, "v1"));
        }
    }
}
