using TeacherStudent.Testing;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Tests.Training;
using TeacherStudent.Distillation.Text;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Language;

/// <summary>
/// A tiny language-model teacher whose output is padded past its tokenizer's vocabulary, saved
/// and loaded as a checkpoint, scoring sequences dense, top-k and sampled.
/// </summary>
[Collection(TorchGlobalRandomness.Name)]
public sealed class SequenceTargetsTests : IDisposable
{
    private readonly TemporaryDirectory directory = new();
    private readonly LanguageModel teacher;

    public SequenceTargetsTests()
    {
        // Padded: the model scores 320 tokens, its tokenizer knows 270.
        var model = TinyLanguageModel.Write(directory.File("lm"), vocabularySize: 270, paddedVocabulary: 320, seed: 11,
            texts: ["the cat sat on the mat", "the dog sat on the log"]);
        teacher = HuggingFaceCheckpoint.Load(model, CPU);
    }

    private int[] Tokens(string text) => teacher.Tokenizer.Encode(text);

    [Fact]
    public void DenseTargetsCoverOnlyTheTokenizersVocabularyAndSumToOneAtEveryPosition()
    {
        var tokens = Tokens("the cat sat");

        var batch = SequenceTargets.Compute(teacher, tokens, 1, tokens.Length, new SequenceTargetSettings(2f));

        Assert.Equal(teacher.Tokenizer.VocabularySize, batch.VocabularySize);
        Assert.True(batch.VocabularySize < 320);
        Assert.Equal(tokens.Length * batch.VocabularySize, batch.LogProbs.Length);
        for (int p = 0; p < tokens.Length; p++)
        {
            var sum = batch.LogProbs.AsSpan(p * batch.VocabularySize, batch.VocabularySize).ToArray().Sum(v => Math.Exp(v));
            Assert.Equal(1.0, sum, 4);
        }
    }

    [Fact]
    public void DenseTargetsAreTheModelsLogitsCutToTheVocabularyAtTemperatureT()
    {
        // Arrange: softmax worked out here in doubles from the raw logits.
        var tokens = Tokens("the dog");
        float[] logits;
        using (var scope = NewDisposeScope())
        using (no_grad())
            logits = teacher.Model.forward(tensor(tokens.Select(t => (long)t).ToArray(), [1, tokens.Length])).data<float>().ToArray();
        const double T = 3;

        // Act
        var batch = SequenceTargets.Compute(teacher, tokens, 1, tokens.Length, new SequenceTargetSettings((float)T));

        // Assert
        var v = batch.VocabularySize;
        for (int p = 0; p < tokens.Length; p++)
        {
            var row = logits.AsSpan(p * 320, v).ToArray().Select(x => x / T).ToArray();
            var logZ = Math.Log(row.Sum(x => Math.Exp(x - row.Max()))) + row.Max();
            for (int c = 0; c < v; c++) Assert.Equal(row[c] - logZ, batch.LogProbs[p * v + c], 1e-4);
        }
    }

    [Fact]
    public void TopKTargetsAreTheKLargestDenseOnesWithTheRestOfTheMassAsTheirTail()
    {
        var tokens = Tokens("the cat sat on the mat");
        tokens = tokens[..(tokens.Length / 2 * 2)]; // two sequences of equal length
        var dense = SequenceTargets.Compute(teacher, tokens, 2, tokens.Length / 2, new SequenceTargetSettings(1.5f));

        var top = SequenceTargets.Compute(teacher, tokens, 2, tokens.Length / 2, new SequenceTargetSettings(1.5f, K: 4));

        var v = dense.VocabularySize;
        for (int p = 0; p < dense.Positions; p++)
        {
            var row = dense.LogProbs.AsSpan(p * v, v).ToArray();
            var expected = row.Select((x, i) => (x, i)).OrderByDescending(e => e.x).Take(4).ToArray();
            Assert.Equal(expected.Select(e => e.i), top.Ids!.AsSpan(p * 4, 4).ToArray());
            for (int j = 0; j < 4; j++) Assert.Equal(expected[j].x, top.LogProbs[p * 4 + j], 4);
            var tail = 1 - expected.Sum(e => Math.Exp(e.x));
            Assert.Equal(Math.Log(tail), top.TailLogMass![p], 3);
        }
    }

    [Fact]
    public void SampledTargetsAreTheSameForTheSameSeedAndCarryTheTeachersLogProbsOfTheirIds()
    {
        var tokens = Tokens("the dog sat on the log");
        var dense = SequenceTargets.Compute(teacher, tokens, 1, tokens.Length, new SequenceTargetSettings(1f));

        var first = SequenceTargets.Compute(teacher, tokens, 1, tokens.Length, new SequenceTargetSettings(1f, 32, SparseTargetKind.Sampled, Seed: 5));
        var again = SequenceTargets.Compute(teacher, tokens, 1, tokens.Length, new SequenceTargetSettings(1f, 32, SparseTargetKind.Sampled, Seed: 5));
        var other = SequenceTargets.Compute(teacher, tokens, 1, tokens.Length, new SequenceTargetSettings(1f, 32, SparseTargetKind.Sampled, Seed: 6));

        Assert.Equal(first.Ids, again.Ids);
        Assert.NotEqual(first.Ids, other.Ids);
        Assert.Null(first.TailLogMass);
        for (int n = 0; n < first.Ids!.Length; n++)
            Assert.Equal(dense.LogProbs[n / 32 * dense.VocabularySize + first.Ids[n]], first.LogProbs[n], 4);
    }

    [Fact]
    public void ASequencesDrawsDoNotDependOnTheOtherSequencesInItsBatch()
    {
        var a = Tokens("the cat sat")[..3];
        var b = Tokens("on the log")[..3];
        var settings = new SequenceTargetSettings(1f, 16, SparseTargetKind.Sampled, Seed: 9);

        var alone = SequenceTargets.Compute(teacher, a, 1, 3, settings);
        var second = SequenceTargets.Compute(teacher, [.. b, .. a], 2, 3, settings);

        // The draws are the same ids. The log-probs come from forwards of one and of two sequences,
        // whose matrix products the BLAS may block differently, so they are held to 1e-5 (some 20
        // float32 steps at |log p| ~ 6), not to the bit. A draw could change only if its uniform
        // number fell within such a step (~1e-7) of a boundary of the cumulative distribution.
        Assert.Equal(alone.Ids, second.Ids![(3 * 16)..]);
        var shared = second.LogProbs[(3 * 16)..];
        Assert.All(Enumerable.Range(0, alone.LogProbs.Length), i => Assert.Equal(alone.LogProbs[i], shared[i], 1e-5f));
    }

    [Theory]
    [InlineData(SequencePacking.Bucketing, SequenceTargets.DefaultMaxLogits)]
    [InlineData(SequencePacking.Padding, SequenceTargets.DefaultMaxLogits)]
    // Logits of one sequence at a time: the head runs over the batch in pieces.
    [InlineData(SequencePacking.Bucketing, 1L)]
    [InlineData(SequencePacking.Padding, 1L)]
    public void SequencesOfDifferentLengthsAndSettingsScoredTogetherGetWhatEachGetsAlone(SequencePacking packing, long maxLogits)
    {
        // Arrange: three lengths, two of them twice, dense, two k of top-k and sampled, four temperatures.
        var text = Tokens("the cat sat on the mat the dog sat on the log the cat sat on the log");
        SequenceToScore Ask(int start, int length, SequenceTargetSettings settings) => new(text.AsMemory(start, length), settings);
        SequenceToScore[] sequences =
        [
            Ask(0, 9, new SequenceTargetSettings(2f)),
            Ask(1, 4, new SequenceTargetSettings(1f, 5)),
            Ask(2, 9, new SequenceTargetSettings(0.5f, 5)),
            Ask(3, 6, new SequenceTargetSettings(1.5f, 3)),
            Ask(4, 4, new SequenceTargetSettings(1f, 16, SparseTargetKind.Sampled, Seed: 3)),
            Ask(5, 9, new SequenceTargetSettings(1f, 16, SparseTargetKind.Sampled, Seed: 4)),
            Ask(0, 1, new SequenceTargetSettings(2f)),
        ];

        // Act
        var together = SequenceTargets.ComputeMany(teacher, sequences, packing, maxLogits);

        // Assert: held to 1e-5, not to the bit (see ASequencesDrawsDoNotDependOnTheOtherSequencesInItsBatch).
        for (int i = 0; i < sequences.Length; i++)
        {
            var sequence = sequences[i];
            var alone = SequenceTargets.Compute(teacher, sequence.Tokens.Span, 1, sequence.Length, sequence.Settings);
            Assert.Equal((1, sequence.Length, sequence.Settings), (together[i].Sequences, together[i].Length, together[i].Settings));
            Assert.Equal(alone.Ids, together[i].Ids);
            Assert.All(Enumerable.Range(0, alone.LogProbs.Length), j => Assert.Equal(alone.LogProbs[j], together[i].LogProbs[j], 1e-5f));
            if (alone.TailLogMass is { } tail)
                Assert.All(Enumerable.Range(0, tail.Length), j => Assert.Equal(tail[j], together[i].TailLogMass![j], 1e-5f));
        }
    }

    [Theory]
    [InlineData(new[] { 1, 2, 999 }, 1, 3, "outside the vocabulary")]
    [InlineData(new[] { 1, 2, -1 }, 1, 3, "outside the vocabulary")]
    [InlineData(new[] { 1, 2, 3 }, 2, 2, "do not make")]
    public void BadTokensAreRefusedWithASentenceThatSaysWhy(int[] tokens, int sequences, int length, string why)
    {
        var error = Assert.Throws<ArgumentException>(() => SequenceTargets.Compute(teacher, tokens, sequences, length, new SequenceTargetSettings(1f)));

        Assert.Contains(why, error.Message);
    }

    [Fact]
    public void ASequenceLongerThanTheContextIsRefused()
    {
        var tokens = Enumerable.Repeat(1, 17).ToArray();

        var error = Assert.Throws<ArgumentException>(() => SequenceTargets.Compute(teacher, tokens, 1, 17, new SequenceTargetSettings(1f)));

        Assert.Contains("context of 16", error.Message);
    }

    public void Dispose()
    {
        teacher.Dispose();
        directory.Dispose();
    }
}
