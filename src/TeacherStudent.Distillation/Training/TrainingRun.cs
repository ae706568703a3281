using System.Diagnostics;
using System.Security.Cryptography;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Training;

/// <summary>
/// One student (or teacher) trained on images, in any <see cref="TrainingMode"/>, resumable from
/// its run directory. Reads top to bottom: targets, forward, loss, backward, step, log.
/// </summary>
public sealed class TrainingRun(
    TrainingSettings settings,
    ImageDataset train,
    ImageDataset evaluation,
    Device device,
    string runDirectory,
    ISoftTargetSource? teacher,
    string targetsDirectory)
{
    /// <summary>Examples per request when an offline student fetches its targets.</summary>
    public const int FetchChunk = 500;

    /// <summary>The model checkpoint written after every epoch (loadable by a teacher service).</summary>
    public string ModelPath => Path.Combine(runDirectory, "model.ckpt");

    /// <summary>The same model for PyTorch, written beside <see cref="ModelPath"/> every time it is: weights (and model.json, its spec).</summary>
    public string ExportPath => Path.Combine(runDirectory, ClassifierExport.WeightsFileName);

    /// <summary>Reported after every batch.</summary>
    public IProgress<BatchProgress>? Progress { get; init; }

    /// <summary>Reported while an offline or pseudo student fetches its targets.</summary>
    public IProgress<(int Done, int Total)>? FetchProgress { get; init; }

    /// <summary>Called before training when the run resumes, with the number of epochs already done.</summary>
    public Action<int>? Resuming { get; init; }

    /// <summary>Called after every epoch, once its checkpoint is on disk (and published).</summary>
    public Action<EpochMetrics>? EpochCompleted { get; init; }

    /// <summary>
    /// How long an offline or pseudo run waits for its teacher to describe itself when targets an
    /// earlier run fetched for the same inputs could stand in; after it, those are used.
    /// </summary>
    public TimeSpan StandInWait { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>When set, the model checkpoint is published there after every epoch (a teacher that keeps learning).</summary>
    public CheckpointPublisher? Publisher { get; init; }

    /// <summary>Trains until <see cref="TrainingSettings.Epochs"/> epochs are done; returns every epoch's metrics.</summary>
    public async Task<IReadOnlyList<EpochMetrics>> RunAsync(CancellationToken cancellationToken)
    {
        if (settings.Mode.NeedsTeacher() && teacher is null)
            throw new ArgumentException($"mode {settings.Mode.Name()} needs a teacher.");
        if (settings.Mixup && (settings.Mode != TrainingMode.Online || settings.Alpha != 1))
            throw new ArgumentException(
                $"mixup makes images with no one label: it is for online students that learn from their teacher's answer on the mixed image alone (mode online, alpha 1), not mode {settings.Mode.Name()} with alpha {settings.Alpha}.");
        Directory.CreateDirectory(runDirectory);

        manual_seed(settings.Seed);
        var spec = ModelSpec.ForFashionMnist(settings.Architecture, settings.Width);
        using var model = spec.Create();
        model.to(device);
        // TorchSharp's optim.AdamW passes implicit Scalars the finalizer may free mid-call (see
        // HeldScalarAdamW): a 100-epoch run once died of it at epoch 19. The same update, Scalars held.
        using var optimizer = new HeldScalarAdamW(model.parameters().Select(p => (p, settings.WeightDecay))) { LearningRate = settings.LearningRate };
        var statePath = Path.Combine(runDirectory, TrainingState.FileName);
        var state = TrainingState.Load(statePath, settings, model, optimizer);
        state ??= new TrainingState(settings, 0, [], null);
        if (state.EpochsDone > 0)
        {
            Resuming?.Invoke(state.EpochsDone);
            // The last run may have stopped between saving its checkpoint and publishing it.
            if (File.Exists(ModelPath)) Publisher?.Publish(ModelPath);
        }

        var labels = KeptLabels();
        TargetStore? stored = null;
        if (settings.Mode is TrainingMode.Offline or TrainingMode.Pseudo)
        {
            stored = await LoadOrFetchTargetsAsync(state.Targets, cancellationToken);
            state = state with { Targets = stored.Key };
            if (settings.Mode == TrainingMode.Pseudo) labels = ArgmaxLabels(stored);
        }
        // Supervised training only sees the examples that kept their label.
        int[] examples = settings.Mode == TrainingMode.Supervised
            ? Enumerable.Range(0, train.Count).Where(i => labels[i] != DistillationObjective.NoLabel).ToArray()
            : Enumerable.Range(0, train.Count).ToArray();
        var objective = new DistillationObjective(DistillationLosses.Create(settings.Loss), settings.Temperature,
            settings.Mode is TrainingMode.Offline or TrainingMode.Online ? settings.Alpha : 0);

        int batches = (examples.Length + settings.BatchSize - 1) / settings.BatchSize;
        var history = state.History.ToList();
        for (int epoch = state.EpochsDone + 1; epoch <= settings.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            // Everything random in an epoch is seeded by (seed, epoch), so a resumed run repeats it.
            int epochSeed = EpochSeed(settings.Seed, epoch);
            manual_seed(epochSeed);
            var order = (int[])examples.Clone();
            new Random(epochSeed).Shuffle(order);
            var augmentation = settings.Augment || settings.Crops || settings.Mixup ? new Augmentation(epochSeed, settings.Crops) : null;
            var versions = new List<string>(); // in the order they first answered
            if (stored is not null) versions.Add(stored.Key.TeacherVersion);

            model.train();
            double lossSum = 0;
            var next = Prepare(order, 0, labels, augmentation);
            var pending = RequestTargets(next, cancellationToken);
            for (int b = 0; b < batches; b++)
            {
                var batch = next;
                var targets = pending is null ? null : await pending;
                if (b + 1 < batches)
                {
                    // Ask the teacher for the next batch while this one trains.
                    next = Prepare(order, (b + 1) * settings.BatchSize, labels, augmentation);
                    pending = RequestTargets(next, cancellationToken);
                }
                if (targets is not null && !versions.Contains(targets.TeacherVersion)) versions.Add(targets.TeacherVersion);
                var teacherLogProbs = targets?.LogProbs ?? StoredRows(stored, batch);
                double lr = settings.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * ((epoch - 1) * batches + b) / (settings.Epochs * batches)));
                lossSum += Step(model, optimizer, objective, batch, teacherLogProbs, spec, lr);
                Progress?.Report(new BatchProgress(epoch, settings.Epochs, b + 1, batches, lossSum / (b + 1)));
            }

            var (evalLoss, accuracy) = Evaluation.Evaluate(model, evaluation, device);
            var metrics = new EpochMetrics(epoch, lossSum / batches, evalLoss, accuracy, clock.Elapsed.TotalSeconds, versions.ToArray());
            history.Add(metrics);
            state = state with { EpochsDone = epoch, History = history.ToArray() };
            SaveModel(spec, model);
            state.Save(statePath, spec, model, optimizer);
            Publisher?.Publish(ModelPath);
            EpochCompleted?.Invoke(metrics);
            cancellationToken.ThrowIfCancellationRequested();
        }
        if (!File.Exists(ModelPath) || !File.Exists(ExportPath)) SaveModel(spec, model);
        return history;
    }

    private void SaveModel(ModelSpec spec, nn.Module model)
    {
        Checkpoint.Save(ModelPath, spec, model);
        ClassifierExport.Save(runDirectory, spec, model, train.ClassNames);
    }

    /// <summary>
    /// The seed of everything random in one epoch: the same in every process (HashCode.Combine is
    /// not: it is salted per process, so a run resumed by a new process would shuffle differently).
    /// </summary>
    public static int EpochSeed(int seed, int epoch) => unchecked(seed * 1_000_003 + epoch * 7_919);

    private static double Step(nn.Module<Tensor, Tensor> model, HeldScalarAdamW optimizer, DistillationObjective objective,
        PreparedBatch batch, float[]? teacherLogProbs, ModelSpec spec, double learningRate)
    {
        optimizer.LearningRate = learningRate;
        using var scope = NewDisposeScope();
        var device = model.parameters().First().device;
        var x = tensor(batch.Pixels, ScalarType.Byte).reshape(batch.Count, spec.Channels, spec.Height, spec.ImageWidth).to(device);
        var y = tensor(batch.Labels).to(device);
        var t = teacherLogProbs is null ? null : tensor(teacherLogProbs).reshape(batch.Count, spec.Classes).to(device);
        var logits = model.forward(x);
        var loss = objective.Compute(logits, t, y);
        model.zero_grad();
        loss.backward();
        optimizer.Step();
        return loss.item<float>();
    }

    private Task<SoftTargetBatch>? RequestTargets(PreparedBatch batch, CancellationToken cancellationToken) =>
        settings.Mode == TrainingMode.Online ? teacher!.GetAsync(batch.Pixels, batch.Count, cancellationToken) : null;

    private float[]? StoredRows(TargetStore? stored, PreparedBatch batch)
    {
        if (stored is null || settings.Mode != TrainingMode.Offline) return null;
        var rows = new float[batch.Count * stored.Key.Classes];
        for (int i = 0; i < batch.Count; i++) stored.Row(batch.Indices[i]).CopyTo(rows.AsSpan(i * stored.Key.Classes));
        return rows;
    }

    private PreparedBatch Prepare(int[] order, int start, long[] labels, Augmentation? augmentation)
    {
        int count = Math.Min(settings.BatchSize, order.Length - start);
        int size = train.ExampleSize;
        var indices = order.AsSpan(start, count).ToArray();
        var pixels = new byte[count * size];
        var batchLabels = new long[count];
        for (int i = 0; i < count; i++)
        {
            var destination = pixels.AsSpan(i * size, size);
            if (augmentation is null || !(settings.Augment || settings.Crops)) train.Example(indices[i]).CopyTo(destination);
            else augmentation.Apply(train.Example(indices[i]), destination, train.Height, train.Width);
            batchLabels[i] = labels[indices[i]];
        }
        // A mixed image has no one label: mixup is for students that learn from the teacher's answer alone (Alpha = 1).
        if (settings.Mixup) augmentation!.Mix(pixels, count, size);
        return new PreparedBatch(indices, pixels, batchLabels, count);
    }

    /// <summary>Labels of the training set, with <see cref="DistillationObjective.NoLabel"/> where a label is not kept.</summary>
    private long[] KeptLabels()
    {
        var labels = train.Labels.Select(l => (long)l).ToArray();
        if (settings.LabelledExamples is not { } kept || kept >= train.Count) return labels;
        var order = Enumerable.Range(0, train.Count).ToArray();
        new Random(settings.LabelSeed).Shuffle(order);
        foreach (var i in order[kept..]) labels[i] = DistillationObjective.NoLabel;
        return labels;
    }

    private static long[] ArgmaxLabels(TargetStore stored)
    {
        var labels = new long[stored.Count];
        for (int i = 0; i < stored.Count; i++)
        {
            var row = stored.Row(i);
            int best = 0;
            for (int c = 1; c < row.Length; c++) if (row[c] > row[best]) best = c;
            labels[i] = best;
        }
        return labels;
    }

    private async Task<TargetStore> LoadOrFetchTargetsAsync(TargetStoreKey? resumed, CancellationToken cancellationToken)
    {
        // A resumed run keeps learning from the targets it started with, teacher or no teacher.
        if (resumed is not null && TargetStore.TryLoad(TargetStore.PathFor(targetsDirectory, resumed), resumed) is { } kept)
            return kept;
        // A re-run learns from what an earlier run fetched for the same inputs and T when there is
        // no teacher to ask; with such a stand-in, the teacher (and a source that retries) gets only a short wait.
        var standIn = TargetStore.FindNewest(targetsDirectory, DatasetName(), settings.Temperature);
        TeacherIdentity identity;
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            if (standIn is not null) wait.CancelAfter(StandInWait);
            try
            {
                identity = await teacher!.DescribeAsync(wait.Token);
            }
            catch (Exception) when (standIn is not null && !cancellationToken.IsCancellationRequested)
            {
                return standIn;
            }
        }
        var key = new TargetStoreKey(DatasetName(), identity.Name, identity.Version, settings.Temperature, identity.Classes);
        var path = TargetStore.PathFor(targetsDirectory, key);
        if (TargetStore.TryLoad(path, key) is { } existing) return existing;
        var store = await TargetStore.FetchAsync(teacher, key, train.Pixels, train.ExampleSize, FetchChunk, FetchProgress, cancellationToken);
        Directory.CreateDirectory(targetsDirectory);
        store.Save(path);
        return store;
    }

    private string DatasetName() => $"images-{train.Count}-{Convert.ToHexStringLower(SHA256.HashData(train.Pixels))[..12]}";

    private sealed record PreparedBatch(int[] Indices, byte[] Pixels, long[] Labels, int Count);
}
