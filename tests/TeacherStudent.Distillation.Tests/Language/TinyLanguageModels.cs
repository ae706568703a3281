using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Tests.Text;
using TeacherStudent.Distillation.Text;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Language;

/// <summary>
/// Real fortunes text for language-model tests, with the shared tokenizer of <see cref="RealFortunes"/>,
/// and a small teacher trained on it once for the whole test run (a few seconds): far better than
/// the tiny students the tests train for a few dozen steps. Used by tests that seed torch's global
/// generator, so only from the <see cref="Training.TorchGlobalRandomness"/> collection.
/// </summary>
internal static class TinyLanguageModels
{
    public const int ContextLength = 32;
    public const int TeacherSteps = 400;

    /// <summary>Test windows every test evaluates on: enough for a stable perplexity, quick to run.</summary>
    public const int TestWindows = 160;

    private static readonly Lazy<(TokenStream Train, TokenStream Validation, TokenStream Test)> LazyStreams = new(() => (
        TokenStream.Encode(Tokenizer, Special, RealFortunes.Corpus.Train),
        TokenStream.Encode(Tokenizer, Special, RealFortunes.Corpus.Validation),
        TokenStream.Encode(Tokenizer, Special, RealFortunes.Corpus.Test)));

    private static readonly string Directory = System.IO.Directory.CreateTempSubdirectory("ts-lm-teacher-").FullName;
    private static readonly Lazy<(string Path, PerplexityResult Test)> LazyTeacher = new(TrainTeacher);

    static TinyLanguageModels() => AppDomain.CurrentDomain.ProcessExit += (_, _) => System.IO.Directory.Delete(Directory, recursive: true);

    // Trained on the train split and written as a Hugging Face tokenizer.json, as train-lm does.
    private static readonly Lazy<(HuggingFaceTokenizer Tokenizer, SpecialTokens Special)> LazyTokenizer = new(() =>
    {
        var directory = BpeTrainer.Train(RealFortunes.Corpus.Train, VocabularySize).Save(Path.Combine(Directory, "tokenizer"));
        var tokenizer = HuggingFaceTokenizer.Load(directory);
        return (tokenizer, SpecialTokens.Of(directory, tokenizer));
    });

    /// <summary>A small vocabulary, so that tiny models spend their parameters on more than the embedding.</summary>
    public const int VocabularySize = 512;

    public static HuggingFaceTokenizer Tokenizer => LazyTokenizer.Value.Tokenizer;

    /// <summary>The tokenizer's end-of-text (256), which also starts every prompt.</summary>
    public static SpecialTokens Special => LazyTokenizer.Value.Special;

    public static TokenStream Train => LazyStreams.Value.Train;
    public static TokenStream Validation => LazyStreams.Value.Validation;
    public static TokenStream Test => LazyStreams.Value.Test;

    /// <summary>The students' shape: one narrow block, so most of its parameters are the embedding.</summary>
    public static LlamaConfig StudentSpec => LlamaConfig.Small(Tokenizer.VocabularySize, ContextLength, layers: 1, width: 32, heads: 2);

    /// <summary>The teacher's model directory (trained on first use).</summary>
    public static string TeacherPath => LazyTeacher.Value.Path;

    /// <summary>The teacher's test perplexity over <see cref="TestWindows"/>.</summary>
    public static PerplexityResult TeacherTest => LazyTeacher.Value.Test;

    /// <summary>A fresh copy of the teacher, in process.</summary>
    public static ModelSequenceTargetSource Teacher(string name = "fortunes") => new(name, HuggingFaceCheckpoint.Load(TeacherPath, CPU));

    /// <summary>Settings for a tiny student: everything but what a test varies.</summary>
    public static LanguageTrainingSettings Student(LanguageTrainingMode mode, int steps) => new()
    {
        Mode = mode,
        Model = StudentSpec,
        ContextLength = ContextLength,
        Steps = steps,
        BatchSize = 16,
        LearningRate = 3e-3,
        MinLearningRate = 3e-4,
        WarmupSteps = 10,
        EvalInterval = steps,
        EvalWindows = 32,
        CheckpointInterval = steps,
        Alpha = 0.5,
        Temperature = 1,
        Seed = 3,
    };

    /// <summary>A run of <paramref name="settings"/> in <paramref name="directory"/>.</summary>
    public static LanguageTrainingRun Run(LanguageTrainingSettings settings, string directory, ISequenceTargetSource? teacher) =>
        new(settings, Tokenizer, Special, Train, Validation, Test, CPU, directory, teacher) { TestWindows = TestWindows };

    private static (string, PerplexityResult) TrainTeacher()
    {
        var settings = new LanguageTrainingSettings
        {
            Mode = LanguageTrainingMode.Supervised,
            Model = LlamaConfig.Small(Tokenizer.VocabularySize, ContextLength, layers: 2, width: 64, heads: 4),
            ContextLength = ContextLength,
            Steps = TeacherSteps,
            BatchSize = 16,
            LearningRate = 3e-3,
            MinLearningRate = 3e-4,
            WarmupSteps = 20,
            EvalInterval = 0,
            CheckpointInterval = 0,
            Seed = 1,
        };
        var run = Run(settings, Path.Combine(Directory, "teacher"), null);
        var result = run.RunAsync(CancellationToken.None).GetAwaiter().GetResult();
        return (run.ModelPath, result.Test);
    }
}
