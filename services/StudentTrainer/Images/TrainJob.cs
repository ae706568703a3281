using System.Diagnostics;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Training;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.TeacherClient;
using static TorchSharp.torch;

namespace TeacherStudent.StudentTrainer.Images;

/// <summary>Trains one student as the options say and writes its outputs.</summary>
public sealed class TrainJob(IOptions<TrainerOptions> trainerOptions, IOptions<TeacherClientOptions> teacherOptions)
{
    /// <summary>Seed of the split that carves a validation set out of the training set.</summary>
    public const int ValidationSplitSeed = 20261124;

    /// <summary>The mode that trains generations, each taught by the one before, rather than one run.</summary>
    public const string SelfMode = "self";

    public async Task<RunReport> RunAsync(CancellationToken cancellationToken)
    {
        var o = trainerOptions.Value;
        var clock = Stopwatch.StartNew();
        if (o.Threads > 0) set_num_threads(o.Threads);
        var device = DeviceChoice.Resolve(o.Device);
        var settings = ToSettings(o);
        var name = string.IsNullOrEmpty(o.Name) ? $"{o.Mode}-{o.Architecture}{o.Width}-s{o.Seed}" : o.Name;

        var train = FashionMnist.LoadTrain(o.DataDirectory);
        var evaluation = FashionMnist.LoadTest(o.DataDirectory);
        var evaluatedOn = "test";
        if (o.Validation > 0)
        {
            (train, evaluation) = train.SplitValidation(o.Validation, ValidationSplitSeed);
            evaluatedOn = "validation";
        }
        if (o.TrainExamples > 0) train = train.Take(o.TrainExamples);
        if (o.EvalExamples > 0) evaluation = evaluation.Take(o.EvalExamples);

        var progress = new ConsoleProgress(name);
        var publisher = o.PublishDirectory.Length > 0 ? new CheckpointPublisher(o.PublishDirectory, o.PublishName) : null;
        var job = new Job(o, settings, train, evaluation, device, progress, evaluatedOn, publisher);
        var what = o.Mode == SelfMode ? $"self, {o.Generations} generations" : settings.Mode.Name();
        Console.WriteLine($"[{name}] {what} {o.Architecture}{o.Width} on {device.type}, {o.Epochs} epochs, run directory {o.RunDirectory}");
        if (publisher is not null) Console.WriteLine($"[{name}] publishing the checkpoint after every epoch to {publisher.PublishedPath}");

        var (all, teacher, generations) = o.Mode == SelfMode
            ? await RunGenerationsAsync(job, cancellationToken)
            : await RunOnceAsync(job, cancellationToken);
        RunOutputs.WriteMetrics(o.RunDirectory, all);
        RunOutputs.WritePlot(o.RunDirectory, name, all);

        var last = all[^1];
        var report = new RunReport(name, o.Scenario, o.Mode, o.Architecture, o.Width, all.Count, o.Seed,
            settings.LabelledExamples, o.Temperature, o.Alpha, evaluatedOn, last.EvalAccuracy, last.EvalLoss,
            teacher,
            all.SelectMany(m => m.TeacherVersions).Distinct().ToArray(),
            all.Sum(m => m.Seconds), all, generations);
        RunOutputs.WriteReport(o.RunDirectory, report);
        Console.WriteLine($"[{name}] done: {evaluatedOn} accuracy {last.EvalAccuracy:0.0000} after {all.Count} epochs ({clock.Elapsed.TotalSeconds:0}s this process)");
        return report;
    }

    /// <summary>
    /// One run in a single mode, against a teacher service, an ensemble of teacher services (<c>--teacher
    /// NAME@ADDRESS[:WEIGHT]</c> repeated), or an in-process teacher, when the mode needs one.
    /// </summary>
    private async Task<(IReadOnlyList<EpochMetrics>, string?, IReadOnlyList<GenerationReport>?)> RunOnceAsync(Job job, CancellationToken cancellationToken)
    {
        var (o, settings, train) = (job.Options, job.Settings, job.Train);
        var t = teacherOptions.Value;
        bool local = t.Checkpoint.Length > 0;
        var services = settings.Mode.NeedsTeacher() && !local
            ? t.Choices().Select(c => ServedTeacher.Open(t.For(c), c.Weight, settings, [1, train.Height, train.Width], job.Progress)).ToArray()
            : [];
        try
        {
            ISoftTargetSource? teacher = services switch
            {
                [] => settings.Mode.NeedsTeacher() ? ModelSoftTargetSource.FromCheckpoint(t.Teacher, t.Checkpoint, settings.Temperature, job.Device) : null,
                [var one] => one.Source,
                _ => new EnsembleSoftTargetSource(services.Select(s => new EnsembleMember(s.Source, s.Weight)).ToArray(), EnsembleTargets.Parse(t.Combination)),
            };
            var teacherName = teacher is null ? null : t.Teacher;
            if (teacher is EnsembleSoftTargetSource ensemble)
            {
                // Its name is the members' (mixture-of-a+b), known once they have answered.
                teacherName = (await ensemble.DescribeAsync(cancellationToken)).Name;
                job.Progress.Note($"learning from {teacherName}: " + string.Join(", ", t.Choices().Select(c => $"{c.Name} at {c.Address} (weight {c.Weight:0.###})")));
            }

            var run = new TrainingRun(settings, train, job.Evaluation, job.Device, o.RunDirectory, teacher, o.TargetsDirectory)
            {
                Progress = job.Progress,
                FetchProgress = job.Progress,
                Resuming = done => job.Progress.Note($"resuming after epoch {done} from {o.RunDirectory}"),
                EpochCompleted = m => job.Progress.EpochDone(m, job.EvaluatedOn),
                Publisher = job.Publisher,
            };
            var epochs = await run.RunAsync(cancellationToken);
            foreach (var served in services)
                if (served.Source is { ExamplesByDigest: > 0 } source)
                    job.Progress.Note($"asked teacher {served.Name} for {source.ExamplesByPixels} examples as pixels and {source.ExamplesByDigest} as digests of examples it held");
            return (epochs, teacherName, null);
        }
        finally
        {
            foreach (var served in services) await served.DisposeAsync();
        }
    }

    /// <summary>A teacher service this run asks: its channel, its source of soft targets, and its weight in an ensemble.</summary>
    private sealed record ServedTeacher(string Name, GrpcChannel Channel, GrpcSoftTargetSource Source, double Weight) : IAsyncDisposable
    {
        public static ServedTeacher Open(TeacherClientOptions options, double weight, TrainingSettings settings, long[] exampleShape, ConsoleProgress progress)
        {
            var channel = TeacherChannel.Create(options, ChannelOptions());
            var source = new GrpcSoftTargetSource(new Teacher.TeacherClient(channel), options, settings.Temperature, exampleShape,
                new TeacherRetry(TimeSpan.FromSeconds(options.RetrySeconds), progress.Note))
            {
                // An online student's augmented views never come again: the teacher's cache would only fill with them.
                Uncached = settings.Mode == TrainingMode.Online && (settings.Augment || settings.Crops || settings.Mixup),
            };
            return new ServedTeacher(options.Teacher, channel, source, weight);
        }

        public async ValueTask DisposeAsync()
        {
            await Source.DisposeAsync();
            Channel.Dispose();
        }
    }

    /// <summary>
    /// Born-again self-distillation: generations in subdirectories of the run directory, the
    /// report's history numbered across them, and each generation's accuracy beside its teacher's version.
    /// </summary>
    private static async Task<(IReadOnlyList<EpochMetrics>, string?, IReadOnlyList<GenerationReport>?)> RunGenerationsAsync(Job job, CancellationToken cancellationToken)
    {
        var o = job.Options;
        var distillation = new BornAgainDistillation(job.Settings, o.Generations, job.Train, job.Evaluation, job.Device, o.RunDirectory)
        {
            Progress = job.Progress,
            FetchProgress = job.Progress,
            GenerationStarting = (g, teacher) => job.Progress.Note(teacher is null
                ? $"generation {g} of {o.Generations}: supervised"
                : $"generation {g} of {o.Generations}: offline from {teacher.Name} (version {teacher.Version})"),
            Resuming = (g, done) => job.Progress.Note($"generation {g}: resuming after epoch {done} from {o.RunDirectory}"),
            EpochCompleted = (g, m) => job.Progress.EpochDone(m, job.EvaluatedOn, $"generation {g}"),
            Publisher = job.Publisher,
        };
        var generations = await distillation.RunAsync(cancellationToken);
        // One history across the generations, so that metrics.csv and curves.svg show the whole run.
        var all = generations
            .SelectMany(g => g.History.Select(m => m with { Epoch = (g.Generation - 1) * o.Epochs + m.Epoch }))
            .ToArray();
        var reports = generations
            .Select(g => new GenerationReport(g.Generation, g.Mode.Name(), g.Accuracy, g.Loss, g.History.Count, g.Version, g.TeacherVersion))
            .ToArray();
        foreach (var g in reports)
            job.Progress.Note($"generation {g.Generation}: {job.EvaluatedOn} accuracy {g.Accuracy:0.0000}" +
                              (g.TeacherVersion is null ? " (supervised)" : $" (taught by version {g.TeacherVersion})"));
        return (all, SelfMode, reports);
    }

    /// <summary>The training settings the options describe.</summary>
    public static TrainingSettings ToSettings(TrainerOptions o) => new()
    {
        // A self run is a sequence of runs that each set their own mode.
        Mode = o.Mode == SelfMode ? TrainingMode.Supervised : Enum.Parse<TrainingMode>(o.Mode, ignoreCase: true),
        Architecture = o.Architecture,
        Width = o.Width,
        Epochs = o.Epochs,
        BatchSize = o.BatchSize,
        LearningRate = o.LearningRate,
        WeightDecay = o.WeightDecay,
        Temperature = o.Temperature,
        Alpha = o.Alpha,
        Loss = o.Loss,
        Seed = o.Seed,
        LabelledExamples = o.Labels > 0 ? o.Labels : null,
        LabelSeed = o.LabelSeed,
        Augment = o.Augment ?? o.Mode == "online",
        Crops = o.Crops,
        Mixup = o.Mixup,
    };

    private static GrpcChannelOptions ChannelOptions() => new()
    {
        // Replies for a large batch exceed the 4 MB default.
        MaxReceiveMessageSize = 64 * 1024 * 1024,
        MaxSendMessageSize = 64 * 1024 * 1024,
    };

    /// <summary>What every kind of run of this job shares.</summary>
    private sealed record Job(
        TrainerOptions Options, TrainingSettings Settings, ImageDataset Train, ImageDataset Evaluation, Device Device,
        ConsoleProgress Progress, string EvaluatedOn, CheckpointPublisher? Publisher);
}
