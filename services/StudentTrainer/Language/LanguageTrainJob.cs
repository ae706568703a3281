using System.Diagnostics;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.StudentTrainer.BlackBox;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.TeacherClient;
using static TorchSharp.torch;

namespace TeacherStudent.StudentTrainer.Language;

/// <summary>Trains one language model on the fortunes corpus (or a corpus file) as the options say and writes its outputs.</summary>
public sealed class LanguageTrainJob(IOptions<LanguageTrainerOptions> trainerOptions, IOptions<TeacherClientOptions> teacherOptions,
    IOptions<BlackBoxOptions> blackBoxOptions)
{
    /// <summary>The mode that trains on a teacher's text: supervised training on what <see cref="BlackBoxCorpus"/> collects.</summary>
    public const string BlackBoxMode = "blackbox";

    /// <summary>Prompts every run continues in its report, so students can be read side by side.</summary>
    public static readonly IReadOnlyList<string> SamplePrompts = ["", "The ", "A man ", "Q:", "You will "];

    public async Task<LanguageRunReport> RunAsync(CancellationToken cancellationToken)
    {
        var o = trainerOptions.Value;
        var clock = Stopwatch.StartNew();
        if (o.Threads > 0) set_num_threads(o.Threads);
        var device = DeviceChoice.Resolve(o.Device);
        bool blackBox = o.Mode == BlackBoxMode;
        if (blackBox) teacherOptions.Value.RequireOneTeacher("train-lm --mode blackbox");
        var mode = blackBox ? LanguageTrainingMode.Supervised : LanguageTrainingModes.Parse(o.Mode);
        var name = string.IsNullOrEmpty(o.Name) ? $"{o.Mode}-{o.Layers}x{o.Width}-s{o.Seed}" : o.Name;
        var progress = new ConsoleProgress(name);

        BlackBoxReport? collected = null;
        FortunesCorpus corpus;
        if (o.CorpusTest && !blackBox) throw new ArgumentException("--corpus-test is for --mode blackbox, whose test split is its teacher's text; other modes are tested on the corpus itself.");
        if (blackBox)
        {
            // The teacher's text, split by entry like any corpus: the held-out splits measure how well the student learned it.
            var (texts, fetched) = await BlackBoxCorpus.CollectAsync(blackBoxOptions.Value, teacherOptions.Value, o.RunDirectory, progress.Note, cancellationToken);
            corpus = FortunesCorpus.FromEntries(BlackBoxCorpus.FileName, texts);
            collected = fetched;
        }
        else corpus = RealCorpus(o);
        // A run that starts from a model directory takes its config and tokenizer.
        var start = o.InitCheckpoint.Length > 0 ? ReadStart(o.InitCheckpoint) : null;
        var tokenizerSource = start is not null ? o.InitCheckpoint : o.Tokenizer.Length > 0 ? o.Tokenizer : TrainTokenizer(o, corpus, progress);
        using var tokenizer = LoadTokenizer(tokenizerSource);
        var special = SpecialTokens.Of(tokenizerSource, tokenizer);
        var settings = ToSettings(o, tokenizer.VocabularySize);
        if (start is not null)
        {
            settings = settings with { Model = start with { AttentionDropout = o.Dropout } };
            progress.Note($"starting from the weights of {o.InitCheckpoint} ({start.Architecture} {start.Layers}x{start.Width}, tokenizer {tokenizer.Digest})");
        }
        settings.Validate();
        if (o.TeacherTokenizer.Length > 0 && !settings.Projected)
            throw new ArgumentException($"--teacher-tokenizer is for --loss {VocabularyProjection.LossName}, which carries the teacher's tokens over to the student's; --loss {o.Loss} does not use it.");

        var t = teacherOptions.Value;
        // An offline run that stored its targets resumes without asking its teacher again.
        bool stored = mode == LanguageTrainingMode.Offline && File.Exists(Path.Combine(o.RunDirectory, OfflineTargetsFile.FileName));
        if (stored) progress.Note($"learning from the targets stored in {o.RunDirectory}; the teacher is not asked");
        await using var connection = mode.NeedsTeacher() && !stored ? Connect(t, tokenizer, device, progress) : null;
        var teacher = connection?.Source;
        if (connection is not null && !settings.CrossTokenizer) await CheckTokenizerAsync(connection, tokenizer, cancellationToken);
        var projection = settings.Projected && connection is not null ? await ProjectionAsync(o, connection, tokenizer, progress, cancellationToken) : null;

        var train = TokenStream.Encode(tokenizer, special, corpus.Train);
        var validation = TokenStream.Encode(tokenizer, special, corpus.Validation);
        var test = TokenStream.Encode(tokenizer, special, corpus.Test);
        var corpusTest = o.CorpusTest ? TokenStream.Encode(tokenizer, special, RealCorpus(o).Test) : null;
        var model = settings.Model;
        Console.WriteLine($"[{name}] {mode.Name()} {model.Architecture} {model.Layers}x{model.Width} ({model.Heads} heads, {model.KeyValueHeads} key/value heads, " +
                          $"context {settings.ContextLength}, vocabulary {model.VocabularySize}) on {device.type}, {o.Steps} steps of {o.BatchSize} windows, " +
                          $"tokenizer {tokenizer.Digest}, run directory {o.RunDirectory}");

        var run = new LanguageTrainingRun(settings, tokenizer, special, train, validation, test, device, o.RunDirectory, teacher)
        {
            Projection = projection,
            ExportDType = LanguageTrainerOptions.ExportDTypes[o.ExportDtype],
            StartFrom = start is null ? null : o.InitCheckpoint,
            Progress = progress,
            FetchProgress = progress,
            Resuming = done => progress.Note($"resuming after step {done} from {o.RunDirectory}"),
            Evaluated = progress.EvaluationDone,
            TestWindows = o.TestWindows,
            CorpusTest = corpusTest,
            SamplePrompts = SamplePrompts,
            Sampling = new SamplingSettings(o.SampleTemperature, o.SampleTopP, o.SampleTokens),
        };
        var result = await run.RunAsync(cancellationToken);

        var report = ToReport(o, name, settings, tokenizer, result, connection?.Name ?? (mode.NeedsTeacher() || blackBox ? t.Teacher : null)) with
        {
            Mode = o.Mode,
            BlackBox = collected,
            TestBitsPerByte = double.IsNaN(result.Test.BitsPerByte) ? null : result.Test.BitsPerByte,
            AlignedShare = result.AlignedShare,
            CorpusTest = result.CorpusTest is { } c ? new CorpusTestReport(c.Perplexity, c.Loss, c.Tokens, double.IsNaN(c.BitsPerByte) ? null : c.BitsPerByte) : null,
        };
        LanguageRunOutputs.WriteMetrics(o.RunDirectory, result.History);
        LanguageRunOutputs.WritePlot(o.RunDirectory, name, result.History);
        LanguageRunOutputs.WriteReport(o.RunDirectory, report);
        Console.WriteLine($"[{name}] done: test perplexity {result.Test.Perplexity:0.00} ({result.Test.BitsPerByte:0.0000} bits per byte) after {result.Steps} steps, " +
                          $"{report.TokensPerSecond:0} tokens/s of training ({clock.Elapsed.TotalSeconds:0}s this process)");
        return report;
    }

    private static FortunesCorpus RealCorpus(LanguageTrainerOptions o) =>
        o.CorpusFile.Length > 0 ? FortunesCorpus.LoadFile(o.CorpusFile) : FortunesCorpus.Load(o.CorpusDirectory);

    /// <summary>The training settings the options describe, for a tokenizer of <paramref name="tokenizerVocabulary"/> tokens.</summary>
    public static LanguageTrainingSettings ToSettings(LanguageTrainerOptions o, int tokenizerVocabulary) => new()
    {
        Mode = o.Mode == BlackBoxMode ? LanguageTrainingMode.Supervised : LanguageTrainingModes.Parse(o.Mode),
        Model = StudentModel(o, tokenizerVocabulary),
        ContextLength = o.ContextLength,
        Steps = o.Steps,
        BatchSize = o.BatchSize,
        LearningRate = o.LearningRate,
        MinLearningRate = o.MinLearningRate,
        WarmupSteps = o.WarmupSteps,
        WeightDecay = o.WeightDecay,
        GradientClip = o.GradientClip,
        Loss = o.Loss,
        MixingWeight = o.MixingWeight,
        Alpha = o.Alpha,
        Temperature = o.Temperature,
        K = o.K,
        TargetKind = LanguageTrainerOptions.TargetKinds[o.Targets],
        OfflineWindows = o.OfflineWindows,
        NewTokens = o.NewTokens,
        TeacherMixing = o.TeacherMixing,
        LengthNormalisation = o.LengthNormalisation,
        OnPolicyFraction = o.OnPolicyFraction,
        Seed = o.Seed,
        EvalInterval = o.EvalInterval,
        EvalWindows = o.EvalWindows,
        CheckpointInterval = o.CheckpointInterval,
    };

    /// <summary><paramref name="vocabulary"/> rounded up to a multiple of <paramref name="multiple"/> (0 = as it is).</summary>
    public static int PaddedVocabulary(int vocabulary, int multiple) =>
        multiple <= 0 ? vocabulary : (vocabulary + multiple - 1) / multiple * multiple;

    /// <summary>
    /// The student's config: <see cref="LanguageTrainerOptions.StudentConfig"/> when given, else a small model of
    /// <see cref="LanguageTrainerOptions.Architecture"/> from the size switches, its output padded as asked.
    /// </summary>
    public static LlamaConfig StudentModel(LanguageTrainerOptions o, int tokenizerVocabulary)
    {
        if (o.StudentConfig.Length == 0)
            return LlamaConfig.Small(PaddedVocabulary(tokenizerVocabulary, o.PadVocabularyTo), o.ContextLength, o.Layers, o.Width, o.Heads, o.KvHeads,
                o.Dropout, o.Architecture);
        if (!File.Exists(o.StudentConfig)) throw new ArgumentException($"student config {o.StudentConfig} (--student-config) does not exist.");
        try
        {
            return LlamaConfig.Read(o.StudentConfig) with { AttentionDropout = o.Dropout };
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException($"--student-config: {e.Message}", e);
        }
    }

    // The config of the model a run starts from; its weights are read by the run itself.
    private static LlamaConfig ReadStart(string directory)
    {
        if (!HuggingFaceCheckpoint.IsModelDirectory(directory))
            throw new ArgumentException($"{directory} (--init-checkpoint) is not a Hugging Face model directory (a folder with config.json, such as a train-lm run's model/).");
        try
        {
            return LlamaConfig.Read(Path.Combine(directory, LlamaConfig.FileName));
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException($"--init-checkpoint: {e.Message}", e);
        }
    }

    private static HuggingFaceTokenizer LoadTokenizer(string source)
    {
        try
        {
            return HuggingFaceTokenizer.Load(source);
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
        {
            throw new ArgumentException(e.Message, e);
        }
    }

    // Training is deterministic: the same split and size give the same tokenizer (and digest) on every run. It is
    // written into the run directory as a Hugging Face tokenizer.json, which the model directory then carries.
    private static string TrainTokenizer(LanguageTrainerOptions o, FortunesCorpus corpus, ConsoleProgress progress)
    {
        var clock = Stopwatch.StartNew();
        var tokenizer = BpeTrainer.Train(corpus.Train, o.VocabularySize);
        var directory = tokenizer.Save(Path.Combine(o.RunDirectory, "tokenizer"));
        progress.Note($"trained a BPE tokenizer of {tokenizer.VocabularySize} tokens on the train split in {clock.Elapsed.TotalSeconds:0.0}s, written to {directory}");
        return directory;
    }

    /// <summary>
    /// The teacher: in this process from <see cref="TeacherClientOptions.Checkpoint"/> when one is
    /// given, else the teacher service at <see cref="TeacherClientOptions.Address"/>; or an ensemble of
    /// teacher services (<c>--teacher NAME@ADDRESS[:WEIGHT]</c> repeated), combined in this process.
    /// </summary>
    private static TeacherConnection Connect(TeacherClientOptions t, ITokenizer tokenizer, Device device, ConsoleProgress progress)
    {
        if (t.IsEnsemble())
        {
            var choices = t.Choices();
            var parts = choices.Select(c => Connect(t.For(c), tokenizer, device, progress)).ToArray();
            var combination = EnsembleTargets.Parse(t.Combination);
            var ensemble = new EnsembleSequenceTargetSource(parts.Select((p, i) => new EnsembleSequenceMember(p.Source, choices[i].Weight)).ToArray(), combination);
            progress.Note($"learning from {EnsembleTargets.Name(combination, choices.Select(c => c.Name))}: "
                          + string.Join(", ", choices.Select(c => $"{c.Name} at {c.Address} (weight {c.Weight:0.###})")));
            return new TeacherConnection(EnsembleTargets.Name(combination, choices.Select(c => c.Name)), ensemble, null, parts[0].Hint, parts);
        }
        if (t.Checkpoint.Length > 0)
        {
            if (!HuggingFaceCheckpoint.IsModelDirectory(t.Checkpoint))
                throw new ArgumentException($"teacher checkpoint {t.Checkpoint} is not a Hugging Face model directory (train one with train-lm --mode supervised: its model/).");
            // The default teacher name is the image demo's; a model in this process is better called by its directory's name.
            var name = t.Teacher == new TeacherClientOptions().Teacher ? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(t.Checkpoint))) : t.Teacher;
            var hint = $"pass the teacher's tokenizer with --tokenizer {t.Checkpoint}";
            LanguageModel model;
            try
            {
                model = HuggingFaceCheckpoint.Load(t.Checkpoint, device);
            }
            catch (InvalidDataException e)
            {
                throw new ArgumentException(e.Message, e);
            }
            return new TeacherConnection(name, new ModelSequenceTargetSource(name, model), null, hint);
        }
        // A dense reply for a batch of windows is V floats per token: far past gRPC's 4 MB default.
        var channel = TeacherChannel.Create(t, new GrpcChannelOptions { MaxReceiveMessageSize = 256 << 20, MaxSendMessageSize = 64 << 20 });
        var source = new GrpcSequenceTargetSource(new Teacher.TeacherClient(channel), t, new TeacherRetry(TimeSpan.FromSeconds(t.RetrySeconds), progress.Note))
        {
            TokenizerDigest = tokenizer.Digest,
        };
        return new TeacherConnection(t.Teacher, source, channel, "pass the teacher's tokenizer with --tokenizer (its model directory, or the tokenizer.json in it)");
    }

    /// <summary>
    /// The teacher's tokens carried over to the student's (<c>--loss projected_kl</c>): from the tokenizer given as
    /// <c>--teacher-tokenizer</c>, which must be the one the teacher reports.
    /// </summary>
    private static async Task<VocabularyProjection> ProjectionAsync(LanguageTrainerOptions o, TeacherConnection connection, HuggingFaceTokenizer student,
        ConsoleProgress progress, CancellationToken cancellationToken)
    {
        if (o.TeacherTokenizer.Length == 0)
            throw new ArgumentException($"--loss {VocabularyProjection.LossName} carries the teacher's tokens over to the student's: give the teacher's tokenizer with --teacher-tokenizer (its model directory, or its tokenizer.json).");
        using var teacherTokenizer = LoadTokenizer(o.TeacherTokenizer);
        var identity = await connection.Source.DescribeAsync(cancellationToken);
        if (identity.TokenizerDigest != teacherTokenizer.Digest)
            throw new ArgumentException($"--teacher-tokenizer {o.TeacherTokenizer} is tokenizer {teacherTokenizer.Digest}, but teacher '{identity.Name}' uses {identity.TokenizerDigest}; give the teacher's own.");
        var projection = VocabularyProjection.Between(teacherTokenizer.Vocabulary, student.Vocabulary);
        progress.Note($"{projection.Mapped} of the teacher's {projection.TeacherSize} tokens carried over to the student's {student.VocabularySize}");
        return projection;
    }

    /// <summary>
    /// Refuses, before the corpus is encoded, a teacher whose tokenizer is not the student's: the
    /// same token id would mean different text to the two.
    /// </summary>
    private static async Task CheckTokenizerAsync(TeacherConnection connection, ITokenizer tokenizer, CancellationToken cancellationToken)
    {
        var identity = await connection.Source.DescribeAsync(cancellationToken);
        if (identity.TokenizerDigest != tokenizer.Digest)
            throw new ArgumentException(
                $"teacher '{identity.Name}' uses tokenizer {identity.TokenizerDigest} but this student's is {tokenizer.Digest}; a student must use its teacher's tokenizer ({connection.Hint}), or learn across tokenizers with --loss projected_kl (given the teacher's tokenizer) or --loss uld.");
    }

    /// <summary>A teacher source and the channel it talks over (if any), disposed together; an ensemble's, with its members' connections.</summary>
    /// <param name="hint">How to give the student this teacher's tokenizer.</param>
    private sealed class TeacherConnection(string name, ISequenceTargetSource source, GrpcChannel? channel, string hint,
        IReadOnlyList<TeacherConnection>? members = null) : IAsyncDisposable
    {
        public string Name => name;
        public ISequenceTargetSource Source => source;
        public string Hint => hint;

        public async ValueTask DisposeAsync()
        {
            if (source is IAsyncDisposable asyncDisposable) await asyncDisposable.DisposeAsync();
            else if (source is IDisposable disposable) disposable.Dispose();
            channel?.Dispose();
            foreach (var member in members ?? []) await member.DisposeAsync();
        }
    }

    private static double PerSecond(double count, double seconds) => seconds > 0 ? count / seconds : 0;

    private static LanguageRunReport ToReport(LanguageTrainerOptions o, string name, LanguageTrainingSettings s, ITokenizer tokenizer,
        LanguageRunResult r, string? teacher)
    {
        bool distilled = s.Mode.NeedsTeacher();
        return new LanguageRunReport(
            name, s.Mode.Name(), distilled ? s.Loss : "ce", distilled ? s.MixingWeight : null, distilled ? s.Alpha : 0, s.Temperature,
            distilled ? s.Targets(0).Shape : null, r.Steps, s.BatchSize, r.Tokens, r.GeneratedTokens, r.TeacherDraws, r.Parameters,
            new LanguageModelShape(s.Model.Architecture, s.Model.Layers, s.Model.Width, s.Model.Heads, s.Model.KeyValueHeads, s.ContextLength, s.Model.VocabularySize,
                tokenizer.VocabularySize),
            tokenizer.Digest, r.Test.Perplexity, r.Test.Loss, r.Test.Tokens, r.History, r.Samples, teacher, r.TeacherVersions,
            r.OfflineTargetBytes, r.Seconds, r.TrainSeconds, PerSecond(r.Steps, r.TrainSeconds), PerSecond(r.Tokens, r.TrainSeconds), s.Seed,
            s.Mode == LanguageTrainingMode.OnPolicy ? new OnPolicyReport(s.NewTokens, s.TeacherMixing, s.LengthNormalisation, s.OnPolicyFraction) : null);
    }
}
