using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Tests.Training;
using TeacherStudent.Distillation.Text;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Language;

/// <summary>
/// Whole language-model runs on real fortunes text: tiny students, a few dozen to a few hundred
/// steps, a small teacher trained once for the test run (<see cref="TinyLanguageModels"/>).
/// </summary>
[Collection(TorchGlobalRandomness.Name)]
public sealed class LanguageTrainingRunTests : IDisposable
{
    private readonly TemporaryDirectory directory = new();

    private static LanguageTrainingSettings Student(LanguageTrainingMode mode, int steps) => TinyLanguageModels.Student(mode, steps);

    private LanguageTrainingRun Run(LanguageTrainingSettings settings, string name, ISequenceTargetSource? teacher,
        Action<int>? stepDone = null, Action<int>? saved = null, Action<int>? resuming = null) =>
        new(settings, TinyLanguageModels.Tokenizer, TinyLanguageModels.Special, TinyLanguageModels.Train, TinyLanguageModels.Validation, TinyLanguageModels.Test,
            CPU, directory.File(name), teacher)
        {
            TestWindows = TinyLanguageModels.TestWindows,
            Progress = stepDone is null ? null : new Reporter<LanguageStepProgress>(p => stepDone(p.Step)),
            Saved = saved,
            Resuming = resuming,
        };

    private static double UntrainedTestPerplexity(LlamaConfig spec, int seed)
    {
        manual_seed(seed);
        using var model = new Llama(spec).InitialiseRandomly();
        return Perplexity.Evaluate(model, TinyLanguageModels.VocabularySize, TinyLanguageModels.Test, TinyLanguageModels.TestWindows).Perplexity;
    }

    [Fact]
    public async Task SupervisedTrainingLowersTestPerplexityWellBelowTheUntrainedModels()
    {
        var settings = Student(LanguageTrainingMode.Supervised, steps: 150);
        double untrained = UntrainedTestPerplexity(settings.Model, settings.Seed);

        var result = await Run(settings, "ce", null).RunAsync(CancellationToken.None);

        // An untrained model is about as unsure as a uniform guess over the vocabulary.
        Assert.InRange(untrained, 0.8 * TinyLanguageModels.VocabularySize, 1.2 * TinyLanguageModels.VocabularySize);
        Assert.True(result.Test.Perplexity < untrained / 2, $"test perplexity {result.Test.Perplexity:0.0} after training, {untrained:0.0} before");
        Assert.True(TinyLanguageModels.TeacherTest.Perplexity < untrained / 4, $"the teacher's is {TinyLanguageModels.TeacherTest.Perplexity:0.0}");
        Assert.Equal([0, 150], result.History.Select(m => m.Step));
        Assert.Equal(150L * 16 * TinyLanguageModels.ContextLength, result.Tokens);
    }

    [Fact]
    public async Task AStudentDistilledOnlineFromABetterTeacherBeatsCrossEntropyAloneInTheSameStepsAndTokens()
    {
        var ce = await Run(Student(LanguageTrainingMode.Supervised, steps: 150), "ce", null).RunAsync(CancellationToken.None);
        using var teacher = TinyLanguageModels.Teacher();

        var distilled = await Run(Student(LanguageTrainingMode.Online, steps: 150) with { Alpha = 1 }, "kd", teacher).RunAsync(CancellationToken.None);

        Assert.True(TinyLanguageModels.TeacherTest.Perplexity < 0.75 * ce.Test.Perplexity,
            $"the teacher ({TinyLanguageModels.TeacherTest.Perplexity:0.0}) should be clearly better than the CE student ({ce.Test.Perplexity:0.0})");
        Assert.True(distilled.Test.Perplexity < 0.9 * ce.Test.Perplexity,
            $"distilled {distilled.Test.Perplexity:0.0}, cross-entropy only {ce.Test.Perplexity:0.0}");
        Assert.Equal(ce.Tokens, distilled.Tokens);
        Assert.Equal([teacher.Model.Version], distilled.TeacherVersions);
    }

    [Theory]
    [InlineData(SparseTargetKind.TopK)]
    [InlineData(SparseTargetKind.Sampled)]
    public async Task AnOfflineStudentFetchesSparseTargetsForItsWindowsOnceThenTrainsOnThemAlone(SparseTargetKind kind)
    {
        using var teacher = new RecordingTeacher(TinyLanguageModels.Teacher());
        var settings = Student(LanguageTrainingMode.Offline, steps: 30) with { K = 8, TargetKind = kind, OfflineWindows = 64, Alpha = 1 };
        int requestsWhenTrainingStarted = -1;

        var result = await Run(settings, "offline", teacher, stepDone: step => { if (step == 1) requestsWhenTrainingStarted = teacher.Requests.Count; })
            .RunAsync(CancellationToken.None);

        Assert.Equal(2, requestsWhenTrainingStarted);                 // 64 windows, 32 per request
        Assert.Equal(2, teacher.Requests.Count);                      // and none while training
        Assert.All(teacher.Requests, r => Assert.Equal((8, kind), (r.Settings.K, r.Settings.Kind)));
        long positions = 64L * TinyLanguageModels.ContextLength;
        long sparseBytes = positions * 8 * (4 + 4) + (kind == SparseTargetKind.TopK ? positions * 4 : 0);
        Assert.Equal(sparseBytes, result.OfflineTargetBytes);          // ids and log-probs (and the tail), not V floats each
        Assert.True(result.Test.Perplexity < 0.75 * TinyLanguageModels.VocabularySize, $"test perplexity {result.Test.Perplexity:0.0}");
    }

    [Fact]
    public async Task AnOfflineRunStoppedAfterItsFetchResumesFromItsStoredTargetsWithoutATeacher()
    {
        using var teacher = new RecordingTeacher(TinyLanguageModels.Teacher());
        var settings = Student(LanguageTrainingMode.Offline, steps: 20) with { K = 8, OfflineWindows = 64, CheckpointInterval = 10, EvalInterval = 10 };
        var whole = await Run(settings, "whole", teacher).RunAsync(CancellationToken.None);
        using var stop = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Run(settings, "stopped", teacher, saved: step => { if (step == 10) stop.Cancel(); }).RunAsync(stop.Token));
        int requests = teacher.Requests.Count;

        var resumed = await Run(settings, "stopped", teacher: null).RunAsync(CancellationToken.None);

        Assert.Equal(4, requests);                                    // two fetches of 64 windows, 32 per request
        Assert.True(File.Exists(Path.Combine(directory.File("stopped"), OfflineTargetsFile.FileName)));
        Assert.Equal(whole.Test.Loss, resumed.Test.Loss, 4);
        Assert.Equal(whole.TeacherVersions, resumed.TeacherVersions);
    }

    [Fact]
    public async Task DenseOfflineTargetsForMoreThanASmallNumberOfPositionsAreRefusedWithWhatToDoInstead()
    {
        using var teacher = new RecordingTeacher(TinyLanguageModels.Teacher());
        var settings = Student(LanguageTrainingMode.Offline, steps: 10) with { K = 0, OfflineWindows = 10_000 };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => Run(settings, "dense", teacher).RunAsync(CancellationToken.None));

        Assert.Contains("offline dense targets for 10000 windows", error.Message);
        Assert.Contains("sparse targets (k > 0", error.Message);
        Assert.Empty(teacher.Requests);
    }

    [Fact]
    public async Task ARunStoppedAtASaveResumesAtThatStepAndEndsWhereAnUninterruptedRunEnds()
    {
        // Online with sampled targets and dropout: the teacher's draws and the dropout masks must repeat too.
        var settings = Student(LanguageTrainingMode.Online, steps: 40) with
        {
            K = 16, TargetKind = SparseTargetKind.Sampled, EvalInterval = 10, CheckpointInterval = 10,
            Model = TinyLanguageModels.StudentSpec with { AttentionDropout = 0.1 },
        };
        using var teacher = TinyLanguageModels.Teacher();
        var whole = await Run(settings, "whole", teacher).RunAsync(CancellationToken.None);

        using var stop = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Run(settings, "stopped", teacher, saved: step => { if (step == 20) stop.Cancel(); }).RunAsync(stop.Token));
        int resumedAfter = -1, firstStep = -1;
        var resumed = await Run(settings, "stopped", teacher, stepDone: s => { if (firstStep < 0) firstStep = s; }, resuming: done => resumedAfter = done)
            .RunAsync(CancellationToken.None);

        Assert.Equal((20, 21), (resumedAfter, firstStep));
        Assert.Equal([0, 10, 20, 30, 40], resumed.History.Select(m => m.Step));
        Assert.Equal(whole.History.Select(m => Math.Round(m.ValidationLoss, 4)), resumed.History.Select(m => Math.Round(m.ValidationLoss, 4)));
        Assert.Equal(whole.Test.Loss, resumed.Test.Loss, 4);
        Assert.Equal(whole.Tokens, resumed.Tokens);
    }

    [Fact]
    public async Task TheCheckpointLoadsAsALanguageModelWithItsSpecTokenizerAndWeights()
    {
        // A padded output (512 tokens scored as 576) is cut back to the tokenizer's vocabulary throughout.
        var settings = Student(LanguageTrainingMode.Online, steps: 20) with { Model = TinyLanguageModels.StudentSpec with { VocabularySize = 576 } };
        using var teacher = TinyLanguageModels.Teacher();
        var run = Run(settings, "saved", teacher);
        var result = await run.RunAsync(CancellationToken.None);

        using var loaded = HuggingFaceCheckpoint.Load(run.ModelPath, CPU);

        var config = Assert.IsType<Llama>(loaded.Model).Config;
        Assert.Equal(settings.Model, config with { WeightDType = null, BeginOfSequenceId = null, EndOfSequenceId = null });
        Assert.Equal(("float32", BpeTokenizer.EndOfTextId), (config.WeightDType, config.EndOfSequenceId));
        Assert.Equal(TinyLanguageModels.Tokenizer.Digest, loaded.Tokenizer.Digest);
        Assert.Equal(TinyLanguageModels.VocabularySize, loaded.VocabularySize);
        Assert.Equal(result.Parameters, loaded.Model.ParameterCount());
        var again = Perplexity.Evaluate(loaded.Model, loaded.VocabularySize, TinyLanguageModels.Test, TinyLanguageModels.TestWindows);
        Assert.Equal(result.Test.Loss, again.Loss, 5);
    }

    [Fact]
    public async Task ATeacherWithAnotherTokenizerIsRefusedBeforeAnyStep()
    {
        var written = BpeTrainer.Train(["the cat sat on the mat", "the dog sat on the log"], vocabularySize: 270).Save(directory.File("other-tokenizer"));
        var other = HuggingFaceTokenizer.Load(written);
        var model = new Llama(LlamaConfig.Small(other.VocabularySize, TinyLanguageModels.ContextLength, 1, 16, 2)).InitialiseRandomly();
        var facts = new LanguageModelFacts(model.ParameterCount(), "float32", "float32");
        using var teacher = new ModelSequenceTargetSource("other", new LanguageModel(model, other, SpecialTokens.Of(written, other), "v-other", facts));

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            Run(Student(LanguageTrainingMode.Online, steps: 5), "mismatch", teacher).RunAsync(CancellationToken.None));

        Assert.Contains($"uses tokenizer {other.Digest} but this student's is {TinyLanguageModels.Tokenizer.Digest}", error.Message);
        Assert.False(Directory.Exists(directory.File("mismatch")));
    }

    [Fact]
    public async Task ARunDirectoryWithOtherSettingsIsRefused()
    {
        await Run(Student(LanguageTrainingMode.Supervised, steps: 5), "same", null).RunAsync(CancellationToken.None);

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            Run(Student(LanguageTrainingMode.Supervised, steps: 5) with { LearningRate = 1e-2 }, "same", null).RunAsync(CancellationToken.None));

        Assert.Contains("other settings", error.Message);
    }

    public void Dispose() => directory.Dispose();
}
