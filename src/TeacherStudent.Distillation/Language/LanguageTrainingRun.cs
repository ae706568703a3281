using System.Diagnostics;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.Distillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// One Llama-family student (or teacher) trained on a token stream for a fixed number of optimiser steps in
/// any <see cref="LanguageTrainingMode"/>, resumable from its run directory. Every step reads
/// <see cref="LanguageTrainingSettings.BatchSize"/> windows of context length + 1 corpus tokens, drawn
/// from (seed, step) alone, so every mode reads the same number of real tokens and a resumed run
/// takes the steps it would have taken. A step reads top to bottom: targets (awaited before any
/// dispose scope opens), forward, loss, backward, clip, step, zero_grad, log.
/// </summary>
public sealed class LanguageTrainingRun(
    LanguageTrainingSettings settings,
    HuggingFaceTokenizer tokenizer,
    SpecialTokens special,
    TokenStream train,
    TokenStream validation,
    TokenStream test,
    Device device,
    string runDirectory,
    ISequenceTargetSource? teacher)
{
    /// <summary>
    /// The model, written with the state as a Hugging Face directory (<see cref="HuggingFaceCheckpoint.Save"/>: config.json,
    /// model.safetensors, the tokenizer's files, generation_config.json): loadable by a teacher service, transformers or vLLM.
    /// </summary>
    public string ModelPath => Path.Combine(runDirectory, "model");

    /// <summary>The dtype the model's weights are written in (float32, bfloat16 or float16); training and its state stay in float32.</summary>
    public ScalarType ExportDType { get; init; } = ScalarType.Float32;

    /// <summary>Reported after every step.</summary>
    public IProgress<LanguageStepProgress>? Progress { get; init; }

    /// <summary>Reported while an offline student fetches its targets (windows done, windows in all).</summary>
    public IProgress<(int Done, int Total)>? FetchProgress { get; init; }

    /// <summary>Called before training when the run resumes, with the number of steps already done.</summary>
    public Action<int>? Resuming { get; init; }

    /// <summary>Called after every evaluation.</summary>
    public Action<LanguageMetrics>? Evaluated { get; init; }

    /// <summary>Called once the checkpoint and state of a step are on disk, with the step.</summary>
    public Action<int>? Saved { get; init; }

    /// <summary>Test windows to evaluate at the end (0 = the whole test stream).</summary>
    public int TestWindows { get; init; }

    /// <summary>
    /// Another held-out stream the finished model is measured on besides the test split (a black-box student,
    /// trained and tested on its teacher's text, measured on the real corpus's test split too); null for none.
    /// </summary>
    public TokenStream? CorpusTest { get; init; }

    /// <summary>Prompts the finished model continues for the report.</summary>
    public IReadOnlyList<string> SamplePrompts { get; init; } = [];

    /// <summary>How those continuations are sampled.</summary>
    public SamplingSettings Sampling { get; init; } = new(Temperature: 0.8, TopP: 0.95, MaxNewTokens: 48);

    /// <summary>
    /// A Hugging Face model directory whose weights a new run starts from instead of a random
    /// initialisation (fine-tuning, as System 2 distillation fine-tunes the model that reasoned);
    /// its config and tokenizer must be the run's. A run that resumes ignores it.
    /// </summary>
    public string? StartFrom { get; init; }

    /// <summary>The teacher's tokens carried over to the student's, for the <see cref="VocabularyProjection"/> loss (which needs it).</summary>
    public VocabularyProjection? Projection { get; init; }

    private int ContextLength => settings.ContextLength;
    private int WindowLength => ContextLength + 1;
    private int Vocabulary => tokenizer.VocabularySize;

    // The starting point must be this very model: the same shape and the same tokens.
    private void LoadStartingWeights(Llama model, string path)
    {
        using var start = HuggingFaceCheckpoint.Load(path, device, ScalarType.Float32);
        var config = ((Llama)start.Model).Config;
        if (config with { AttentionDropout = 0, WeightDType = null } != settings.Model with { AttentionDropout = 0, WeightDType = null })
            throw new ArgumentException($"{path} holds a model of config {config}, not this run's {settings.Model}.");
        if (start.Tokenizer.Digest != tokenizer.Digest)
            throw new ArgumentException($"{path} was trained with tokenizer {start.Tokenizer.Digest}, not this run's {tokenizer.Digest}.");
        using var noGrad = no_grad();
        var weights = start.Model.state_dict();
        foreach (var (name, parameter) in model.named_parameters()) parameter.copy_(weights[name]);
    }

    /// <summary>Trains until <see cref="LanguageTrainingSettings.Steps"/> steps are done, then evaluates on the test stream.</summary>
    public async Task<LanguageRunResult> RunAsync(CancellationToken cancellationToken)
    {
        settings.Validate();
        var mode = settings.Mode;
        if (settings.Model.VocabularySize < Vocabulary)
            throw new ArgumentException($"the model scores {settings.Model.VocabularySize} tokens, fewer than its tokenizer's {Vocabulary}.");
        // An offline run that stored its targets resumes from them, teacher or no teacher.
        var offline = mode == LanguageTrainingMode.Offline ? OfflineTargetsFile.TryLoad(OfflineTargetsPath, OfflineKey()) : null;
        if (mode.NeedsTeacher() && offline is null)
        {
            if (teacher is null) throw new ArgumentException($"mode {mode.Name()} needs a teacher.");
            if (settings.CrossTokenizer && !tokenizer.Vocabulary.IsByteLevel)
                throw new ArgumentException($"the {UniversalLogitDistillation.LossName} loss aligns by bytes, and the student's tokenizer {tokenizer.Path} is not byte-level BPE: its tokens do not spell bytes.");
            if (settings.Projected && Projection is null)
                throw new ArgumentException($"the {VocabularyProjection.LossName} loss needs the teacher's tokenizer, to carry its tokens over to the student's (--teacher-tokenizer).");
            if (settings.CrossTokenizer && teacher is not ITextTargetSource)
                throw new ArgumentException($"the {UniversalLogitDistillation.LossName} loss needs a teacher that scores text (a teacher service, or a model in this process); an ensemble does not.");
            await CheckTeacherAsync(cancellationToken);
        }
        Directory.CreateDirectory(runDirectory);

        manual_seed(settings.Seed);
        using var model = new Llama(settings.Model, ScalarType.Float32, device).InitialiseRandomly();
        using var optimizer = CreateOptimizer(model);
        var statePath = Path.Combine(runDirectory, LanguageTrainingState.FileName);
        var state = LanguageTrainingState.Load(statePath, settings, tokenizer, model, optimizer) ?? LanguageTrainingState.Start(settings, tokenizer);
        if (state.StepsDone > 0) Resuming?.Invoke(state.StepsDone);
        else if (StartFrom is not null) LoadStartingWeights(model, StartFrom);

        var objective = new SequenceObjective(settings.Divergence(), settings.Temperature,
            mode == LanguageTrainingMode.Supervised ? 0 : settings.Alpha, Vocabulary);
        if (mode == LanguageTrainingMode.Offline) offline ??= await FetchOfflineAsync(cancellationToken);
        var rollout = mode == LanguageTrainingMode.OnPolicy ? new OnPolicyRollout(teacher, settings.TeacherMixing, Vocabulary, EndOfText) : null;
        var schedule = LearningRateSchedule.Of(settings);
        var versions = new List<string>(); // since the last evaluation
        if (offline is not null) versions.AddRange(offline.TeacherVersions);

        var clock = Stopwatch.StartNew();
        double secondsBefore = state.Seconds, trainSeconds = state.TrainSeconds;
        var history = state.History.ToList();
        if (state.StepsDone == 0 && settings.EvalInterval > 0) history.Add(Evaluate(model, 0, null, 0, 0, secondsBefore, []));
        long tokensThisProcess = 0;
        Task<SequenceTargetBatch>? pending = null;  // online: the next step's targets, asked for ahead
        Task<(WindowText[] Windows, TextTargetBatch Targets)>? pendingText = null;  // the same for a cross-tokenizer student, with its windows spelt
        long alignedPositions = 0, studentPositions = 0;

        model.train();
        for (int step = state.StepsDone + 1; step <= settings.Steps; step++)
        {
            var stepClock = Stopwatch.StartNew();
            double learningRate = schedule.At(step);
            optimizer.LearningRate = learningRate;
            manual_seed(StepSeed(settings.Seed, step));  // dropout, the same in a resumed run

            // Targets first, outside any dispose scope; then the step, synchronously.
            var windows = offline is null ? TrainingWindows(step) : null;
            double loss;
            long generated = 0, teacherDraws = 0;
            // An on-policy run's other steps (GKD's 1 - lambda) learn from the teacher on the corpus windows, as online.
            var kind = mode == LanguageTrainingMode.OnPolicy && !settings.IsRolloutStep(step) ? LanguageTrainingMode.Online : mode;
            switch (kind)
            {
                case LanguageTrainingMode.Supervised:
                    loss = Step(model, optimizer, () => objective.Compute(StudentLogits(model, objective, windows!), null, NextTokens(windows!)));
                    break;
                case LanguageTrainingMode.Online when settings.CrossTokenizer:
                {
                    var (texts, targets) = await (pendingText ?? RequestTextTargets(step, cancellationToken));
                    pendingText = step < settings.Steps ? RequestTextTargets(step + 1, cancellationToken) : null;
                    Note(versions, targets.Targets.TeacherVersion);
                    var aligned = Align(texts, targets.Tokens);
                    alignedPositions += aligned.Student.Length;
                    studentPositions += (long)settings.BatchSize * ContextLength;
                    loss = Step(model, optimizer, () => CrossTokenizerLoss(model, objective, windows!, targets, aligned));
                    break;
                }
                case LanguageTrainingMode.Online:
                {
                    var targets = await (pending ?? RequestTargets(step, cancellationToken));
                    // Ask for the next step's targets now: a teacher service computes them while this step trains.
                    pending = mode == LanguageTrainingMode.Online && step < settings.Steps ? RequestTargets(step + 1, cancellationToken) : null;
                    Note(versions, targets.TeacherVersion);
                    loss = Step(model, optimizer, () => objective.Compute(StudentLogits(model, objective, windows!), targets, NextTokens(windows!)));
                    break;
                }
                case LanguageTrainingMode.Offline:
                {
                    var chosen = OfflineBatch(step, offline!.Count);
                    windows = chosen.SelectMany(w => offline.Window(w).ToArray()).ToArray();
                    var targets = offline.Batch(chosen);
                    loss = Step(model, optimizer, () => objective.Compute(StudentLogits(model, objective, windows), targets, NextTokens(windows)));
                    break;
                }
                case LanguageTrainingMode.OnPolicy:
                {
                    // The window's last NewTokens tokens are replaced by the student's (teacher-mixed) continuation of the rest.
                    int promptLength = WindowLength - settings.NewTokens;
                    var prompts = Prefixes(windows!, promptLength);
                    var samples = await rollout!.RunAsync(model, prompts, settings.BatchSize, promptLength, settings.NewTokens, StepSeed(settings.Seed, step), cancellationToken);
                    foreach (var v in samples.TeacherVersions) Note(versions, v);
                    var targets = await teacher!.GetAsync(samples.Inputs(), settings.BatchSize, ContextLength, settings.Targets(StepSeed(settings.Seed, step)), cancellationToken);
                    Note(versions, targets.TeacherVersion);
                    loss = Step(model, optimizer, () => OnPolicyLoss(model, objective, samples, targets, windows!));
                    (generated, teacherDraws) = (samples.GeneratedTokens, samples.TeacherDraws);
                    break;
                }
                default:
                    throw new ArgumentOutOfRangeException(nameof(settings), mode, "unknown mode");
            }
            trainSeconds += stepClock.Elapsed.TotalSeconds;
            long stepTokens = (long)settings.BatchSize * ContextLength;
            tokensThisProcess += stepTokens;
            state = state with
            {
                StepsDone = step, LossSum = state.LossSum + loss, LossSteps = state.LossSteps + 1, Tokens = state.Tokens + stepTokens,
                GeneratedTokens = state.GeneratedTokens + generated, TeacherDraws = state.TeacherDraws + teacherDraws,
                TeacherVersions = [.. state.TeacherVersions.Union(versions)],
            };
            Progress?.Report(new LanguageStepProgress(step, settings.Steps, loss, tokensThisProcess / clock.Elapsed.TotalSeconds));

            if ((settings.EvalInterval > 0 && step % settings.EvalInterval == 0) || step == settings.Steps)
            {
                history.Add(Evaluate(model, step, state.LossSum / state.LossSteps, learningRate, state.Tokens, secondsBefore + clock.Elapsed.TotalSeconds, versions));
                versions.Clear();
                state = state with { LossSum = 0, LossSteps = 0 };
            }
            if ((settings.CheckpointInterval > 0 && step % settings.CheckpointInterval == 0) || step == settings.Steps)
            {
                state = state with { History = history.ToArray(), Seconds = secondsBefore + clock.Elapsed.TotalSeconds, TrainSeconds = trainSeconds };
                SaveModel(model);
                state.Save(statePath, model, optimizer);
                Saved?.Invoke(step);
            }
            cancellationToken.ThrowIfCancellationRequested();
        }
        if (!HuggingFaceCheckpoint.IsModelDirectory(ModelPath)) SaveModel(model);

        var tokenBytes = tokenizer.Vocabulary.ByteLengths;
        var testResult = Perplexity.Evaluate(model, Vocabulary, test, TestWindows, contextLength: ContextLength, tokenBytes: tokenBytes);
        PerplexityResult? corpusTest = CorpusTest is null ? null : Perplexity.Evaluate(model, Vocabulary, CorpusTest, TestWindows, contextLength: ContextLength, tokenBytes: tokenBytes);
        var samplesText = SamplePrompts.Select((p, i) => new TextSample(p, TokenSampler.Complete(model, tokenizer, special, p, Sampling, settings.Seed * 1000L + i))).ToArray();
        return new LanguageRunResult(history, testResult, state.StepsDone, state.Tokens, state.GeneratedTokens, state.TeacherDraws, model.ParameterCount(),
            state.TeacherVersions, secondsBefore + clock.Elapsed.TotalSeconds, trainSeconds, offline?.Bytes ?? 0, samplesText)
        {
            AlignedShare = settings.CrossTokenizer && studentPositions > 0 ? (double)alignedPositions / studentPositions : null,
            CorpusTest = corpusTest,
        };
    }

    /// <summary>The seed of everything random in one step: the same in every process.</summary>
    public static int StepSeed(int seed, int step) => unchecked(seed * 1_000_003 + step * 7_919);

    /// <summary>The training windows of <paramref name="step"/> (row-major, context length + 1 tokens each): from (seed, step) alone.</summary>
    public int[] TrainingWindows(int step) => train.RandomWindows(settings.BatchSize, WindowLength, new Random(StepSeed(settings.Seed, step)));

    /// <summary>An online step's targets: the teacher's answer for the inputs of that step's windows.</summary>
    private Task<SequenceTargetBatch> RequestTargets(int step, CancellationToken cancellationToken) =>
        teacher!.GetAsync(Inputs(TrainingWindows(step)), settings.BatchSize, ContextLength, settings.Targets(StepSeed(settings.Seed, step)), cancellationToken);

    /// <summary>A cross-tokenizer step's windows spelt as text, and the teacher's answer for that text.</summary>
    private async Task<(WindowText[] Windows, TextTargetBatch Targets)> RequestTextTargets(int step, CancellationToken cancellationToken)
    {
        var texts = WindowTexts(TrainingWindows(step));
        var targets = await ((ITextTargetSource)teacher!).GetForTextsAsync(texts.Select(w => w.Text).ToArray(),
            settings.Targets(StepSeed(settings.Seed, step)), cancellationToken);
        return (texts, targets);
    }

    /// <summary>Every window (context length + 1 tokens) spelt as text, with the bytes each of its tokens covers.</summary>
    private WindowText[] WindowTexts(int[] windows) =>
        Enumerable.Range(0, windows.Length / WindowLength).Select(i => ByteAlignment.Spell(tokenizer.Vocabulary, windows.AsSpan(i * WindowLength, WindowLength))).ToArray();

    /// <summary>The rows of the student's logits [B * L] and of the teacher's targets that predict the same bytes.</summary>
    private AlignedRows Align(WindowText[] texts, TokenizedTexts teacherTokens)
    {
        List<int> studentRows = [], teacherRows = [];
        for (int b = 0; b < texts.Length; b++)
            foreach (var (s, t) in ByteAlignment.Pairs(texts[b], teacherTokens.StartsOf(b), teacherTokens.EndsOf(b), teacherTokens.Lengths[b]))
            {
                studentRows.Add(b * ContextLength + s);
                teacherRows.Add(b * teacherTokens.Length + t);
            }
        return new AlignedRows([.. studentRows], [.. teacherRows]);
    }

    /// <summary>
    /// A cross-tokenizer student's objective: alpha * the mean ULD distance over the positions aligned with the
    /// teacher's (or, for the projected loss, T^2 * the mean forward KL against the teacher's distribution carried
    /// over to the student's tokens; none aligned: 0) + (1 - alpha) * CE on every position's real next token.
    /// </summary>
    private Tensor CrossTokenizerLoss(Llama model, SequenceObjective objective, int[] windows, TextTargetBatch targets, AlignedRows aligned)
    {
        var logits = StudentLogits(model, objective, windows);
        var hard = objective.Alpha < 1 ? SequenceObjective.CrossEntropy(logits, NextTokens(windows)) : null;
        Tensor soft;
        if (aligned.Student.Length == 0) soft = logits.sum().mul(TorchScalars.Zero); // nothing aligned: 0, still part of the graph
        else
        {
            var studentRows = tensor(aligned.Student.Select(i => (long)i).ToArray(), device: device);
            var teacherRows = tensor(aligned.Teacher.Select(i => (long)i).ToArray(), device: device);
            var student = SoftTargets.LogProbabilities(logits.index_select(0, studentRows), objective.Temperature);
            var teacher = targets.Targets;
            if (settings.Projected)
            {
                var target = Projection!.Project(teacher.DenseTensor(device).index_select(0, teacherRows), student.shape[1]);
                soft = objective.ScaledByTemperature(VocabularyProjection.ForwardKl(target, student).mean());
            }
            else if (teacher.Settings.Dense) soft = UniversalLogitDistillation.Distance(student, teacher.DenseTensor(device).index_select(0, teacherRows), null).mean();
            else
            {
                var sparse = teacher.SparseTensors(device);
                soft = UniversalLogitDistillation.Distance(student, sparse.LogProbs.index_select(0, teacherRows), sparse.TailLogMass!.index_select(0, teacherRows)).mean();
            }
        }
        return objective.Mix(soft, hard);
    }

    private sealed record AlignedRows(int[] Student, int[] Teacher);

    /// <summary>
    /// The offline windows a step trains on: the fixed set is read in a fresh shuffled order every
    /// pass (epoch), each order drawn from (seed, pass) alone.
    /// </summary>
    private int[] OfflineBatch(int step, int count)
    {
        var chosen = new int[settings.BatchSize];
        int[]? order = null;
        long orderEpoch = -1;
        for (int i = 0; i < chosen.Length; i++)
        {
            long position = (long)(step - 1) * settings.BatchSize + i;
            long epoch = position / count;
            if (epoch != orderEpoch)
            {
                order = Enumerable.Range(0, count).ToArray();
                new Random(StepSeed(settings.Seed, -1 - (int)epoch)).Shuffle(order);
                orderEpoch = epoch;
            }
            chosen[i] = order![(int)(position % count)];
        }
        return chosen;
    }

    private async Task CheckTeacherAsync(CancellationToken cancellationToken)
    {
        var identity = await teacher!.DescribeAsync(cancellationToken);
        if (settings.CrossTokenizer) return; // the teacher reads the text in its own tokens, up to its own context
        if (identity.TokenizerDigest != tokenizer.Digest)
            throw new ArgumentException(
                $"teacher '{identity.Name}' uses tokenizer {identity.TokenizerDigest} but this student's is {tokenizer.Digest}; " +
                "a student must use its teacher's tokenizer (--tokenizer with the teacher's model directory or tokenizer.json).");
        if (identity.ContextLength < ContextLength)
            throw new ArgumentException($"teacher '{identity.Name}' reads at most {identity.ContextLength} tokens, fewer than the student's context of {ContextLength}.");
    }

    /// <summary>Where an offline run keeps the targets it fetched.</summary>
    public string OfflineTargetsPath => Path.Combine(runDirectory, OfflineTargetsFile.FileName);

    private OfflineTargetsKey OfflineKey() =>
        new(tokenizer.Digest, settings.Targets(settings.Seed), settings.OfflineWindows, WindowLength, settings.Seed, OfflineTargetsKey.Digest(train));

    /// <summary>Fetches the targets of a fixed set of windows, and stores them in the run directory.</summary>
    private async Task<OfflineTargets> FetchOfflineAsync(CancellationToken cancellationToken)
    {
        var key = OfflineKey();
        OfflineTargets.CheckFits(key.Targets, settings.OfflineWindows, ContextLength, Vocabulary);
        // A fixed set, drawn from a seed no step uses (steps are 1-based).
        var windows = train.RandomWindows(settings.OfflineWindows, WindowLength, new Random(StepSeed(settings.Seed, 0)));
        var targets = await OfflineTargets.FetchAsync(teacher!, windows, settings.OfflineWindows, WindowLength, key.Targets, FetchProgress, cancellationToken);
        OfflineTargetsFile.Save(OfflineTargetsPath, key, targets);
        return targets;
    }

    /// <summary>One optimiser step on the loss <paramref name="computeLoss"/> builds (inside this step's dispose scope); returns its value.</summary>
    private double Step(Llama model, HeldScalarAdamW optimizer, Func<Tensor> computeLoss)
    {
        using var scope = NewDisposeScope();
        var loss = computeLoss();
        loss.backward();
        if (settings.GradientClip > 0) nn.utils.clip_grad_norm_(model.parameters(), settings.GradientClip);
        optimizer.Step();
        model.zero_grad();
        return loss.item<float>();
    }

    /// <summary>
    /// On-policy objective: alpha * T^2 * D on the generated positions of the student's own samples,
    /// plus (1 - alpha) * CE on the original corpus windows the prompts came from (MiniLLM's
    /// language-modelling term), since generated tokens have no real next token to learn.
    /// </summary>
    private Tensor OnPolicyLoss(Llama model, SequenceObjective objective, Rollout samples, SequenceTargetBatch targets, int[] windows)
    {
        var inputs = tensor(samples.Inputs().Select(t => (long)t).ToArray(), [samples.Sequences, samples.Length - 1], device: device);
        var logits = objective.Positions(model.forward(inputs));
        var weights = tensor(samples.GeneratedPositionWeights(settings.LengthNormalisation), device: device);
        var soft = objective.Distillation(logits, targets, weights);
        var hard = objective.Alpha < 1 ? SequenceObjective.CrossEntropy(StudentLogits(model, objective, windows), NextTokens(windows)) : null;
        return objective.Mix(soft, hard);
    }

    /// <summary>The student's logits [B * L, V] for the inputs of <paramref name="windows"/>.</summary>
    private Tensor StudentLogits(Llama model, SequenceObjective objective, int[] windows) =>
        objective.Positions(model.forward(WindowTensor(windows).narrow(1, 0, ContextLength).contiguous()));

    /// <summary>The real next tokens [B * L] of <paramref name="windows"/>.</summary>
    private Tensor NextTokens(int[] windows) => WindowTensor(windows).narrow(1, 1, ContextLength).reshape(-1);

    private Tensor WindowTensor(int[] windows) =>
        tensor(windows.Select(t => (long)t).ToArray(), [windows.Length / WindowLength, WindowLength], device: device);

    /// <summary>The inputs of <paramref name="windows"/> (all tokens but the last of each), row-major.</summary>
    private int[] Inputs(int[] windows) => Prefixes(windows, ContextLength);

    private int[] Prefixes(int[] windows, int length)
    {
        int count = windows.Length / WindowLength;
        var prefixes = new int[count * length];
        for (int i = 0; i < count; i++) windows.AsSpan(i * WindowLength, length).CopyTo(prefixes.AsSpan(i * length));
        return prefixes;
    }

    private LanguageMetrics Evaluate(Llama model, int step, double? trainLoss, double learningRate, long tokens, double seconds, IEnumerable<string> versions)
    {
        var result = Perplexity.Evaluate(model, Vocabulary, validation, settings.EvalWindows, contextLength: ContextLength);
        var metrics = new LanguageMetrics(step, trainLoss, result.Loss, result.Perplexity, learningRate, tokens, seconds, versions.ToArray());
        Evaluated?.Invoke(metrics);
        return metrics;
    }

    /// <summary>
    /// AdamW as nanoGPT sets it up: weight decay on matrices and embeddings only, none on biases and
    /// norm gains (decaying those only hurts).
    /// </summary>
    private HeldScalarAdamW CreateOptimizer(Llama model) =>
        new(model.parameters().Select(p => (p, p.dim() >= 2 ? settings.WeightDecay : 0.0)), beta1: 0.9, beta2: settings.Beta2);

    private void SaveModel(Llama model) => HuggingFaceCheckpoint.Save(ModelPath, model, tokenizer.Path, special, ExportDType);

    private int EndOfText => special.EndOfSequence.Count > 0 ? special.EndOfSequence[0]
        : throw new ArgumentException("the tokenizer names no end-of-sequence token, which separates the corpus's texts.");

    private static void Note(List<string> versions, string version)
    {
        if (!versions.Contains(version)) versions.Add(version);
    }
}
