using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Training;

/// <summary>
/// Self-distillation, "born again" (Furlanello et al., 2018, Born Again Neural Networks): generation 1
/// is trained supervised; every later generation, of the same architecture, width and epochs, is
/// trained offline from the generation before it, loaded in this process as its teacher, so no
/// separate large teacher is needed. Each generation is its own resumable <see cref="TrainingRun"/>
/// in <c>generation-K</c> under the run directory (its soft targets in <c>targets</c> beside them),
/// so a stopped run resumes at the generation and epoch where it stopped. Every generation starts
/// from the same seed, so generations differ by what taught them, not by their initialisation.
/// </summary>
/// <param name="settings">Settings of every generation; the mode is set per generation.</param>
/// <param name="generations">How many generations to train, at least 1.</param>
public sealed class BornAgainDistillation(
    TrainingSettings settings,
    int generations,
    ImageDataset train,
    ImageDataset evaluation,
    Device device,
    string runDirectory)
{
    /// <summary>Reported after every batch of every generation.</summary>
    public IProgress<BatchProgress>? Progress { get; init; }

    /// <summary>Reported while a generation fetches its teacher's targets.</summary>
    public IProgress<(int Done, int Total)>? FetchProgress { get; init; }

    /// <summary>Called before a generation trains: its number and its teacher (null for generation 1).</summary>
    public Action<int, TeacherIdentity?>? GenerationStarting { get; init; }

    /// <summary>Called when a generation resumes: its number and the epochs it had done.</summary>
    public Action<int, int>? Resuming { get; init; }

    /// <summary>Called after every epoch of every generation, with the generation's number.</summary>
    public Action<int, EpochMetrics>? EpochCompleted { get; init; }

    /// <summary>When set, every generation's checkpoint is published there after each of its epochs.</summary>
    public CheckpointPublisher? Publisher { get; init; }

    /// <summary>The run directory of generation <paramref name="generation"/> (1-based).</summary>
    public string GenerationDirectory(int generation) => Path.Combine(runDirectory, $"generation-{generation}");

    /// <summary>Trains (or resumes) every generation in turn; returns what each one reached.</summary>
    public async Task<IReadOnlyList<GenerationResult>> RunAsync(CancellationToken cancellationToken)
    {
        if (generations < 1) throw new ArgumentException($"self-distillation needs at least 1 generation, not {generations}.");
        var results = new List<GenerationResult>();
        for (int generation = 1; generation <= generations; generation++)
        {
            var result = generation == 1
                ? await TrainAsync(generation, null, cancellationToken)
                : await TrainFromPreviousAsync(generation, cancellationToken);
            results.Add(result);
        }
        return results;
    }

    private async Task<GenerationResult> TrainFromPreviousAsync(int generation, CancellationToken cancellationToken)
    {
        var previous = Path.Combine(GenerationDirectory(generation - 1), "model.ckpt");
        var (spec, model, version) = Checkpoint.LoadVersioned(previous, device);
        using (model)
        {
            var teacher = new ModelSoftTargetSource($"generation-{generation - 1}", version, spec, model, settings.Temperature);
            return await TrainAsync(generation, teacher, cancellationToken);
        }
    }

    private async Task<GenerationResult> TrainAsync(int generation, ModelSoftTargetSource? teacher, CancellationToken cancellationToken)
    {
        var identity = teacher is null ? null : await teacher.DescribeAsync(cancellationToken);
        GenerationStarting?.Invoke(generation, identity);
        var mode = teacher is null ? TrainingMode.Supervised : TrainingMode.Offline;
        var run = new TrainingRun(settings with { Mode = mode }, train, evaluation, device, GenerationDirectory(generation), teacher,
            Path.Combine(runDirectory, "targets"))
        {
            Progress = Progress,
            FetchProgress = FetchProgress,
            Resuming = done => Resuming?.Invoke(generation, done),
            EpochCompleted = m => EpochCompleted?.Invoke(generation, m),
            Publisher = Publisher,
        };
        var history = await run.RunAsync(cancellationToken);
        var last = history[^1];
        return new GenerationResult(generation, mode, last.EvalAccuracy, last.EvalLoss, Checkpoint.Digest(run.ModelPath), identity?.Version, history);
    }
}

/// <summary>What one generation of a self-distillation run reached.</summary>
/// <param name="Generation">1-based generation number.</param>
/// <param name="Mode">Supervised for generation 1, offline (from the generation before) after it.</param>
/// <param name="Accuracy">Evaluation accuracy after its last epoch.</param>
/// <param name="Loss">Evaluation cross-entropy after its last epoch.</param>
/// <param name="Version">Digest of its own checkpoint: the teacher version of the next generation.</param>
/// <param name="TeacherVersion">Digest of the checkpoint of the generation that taught it (null for generation 1).</param>
/// <param name="History">Its epochs, numbered from 1.</param>
public sealed record GenerationResult(
    int Generation, TrainingMode Mode, double Accuracy, double Loss, string Version, string? TeacherVersion, IReadOnlyList<EpochMetrics> History);
