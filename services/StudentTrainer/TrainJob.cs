using System.Diagnostics;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Training;

namespace TeacherStudent.StudentTrainer;

/// <summary>Trains one student as the options say and writes its outputs.</summary>
public sealed class TrainJob(IOptions<TrainerOptions> trainerOptions, IOptions<TeacherClientOptions> teacherOptions)
{
    /// <summary>Seed of the split that carves a validation set out of the training set.</summary>
    public const int ValidationSplitSeed = 20261124;

    public async Task<RunReport> RunAsync(CancellationToken cancellationToken)
    {
        var o = trainerOptions.Value;
        var clock = Stopwatch.StartNew();
        if (o.Threads > 0) TorchSharp.torch.set_num_threads(o.Threads);
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

        var t = teacherOptions.Value;
        bool local = t.Checkpoint.Length > 0;
        using var channel = settings.Mode.NeedsTeacher() && !local ? GrpcChannel.ForAddress(t.Address, ChannelOptions()) : null;
        await using var served = channel is null
            ? null
            : new GrpcSoftTargetSource(new Teacher.TeacherClient(channel), t, settings.Temperature, [1, train.Height, train.Width]);
        ISoftTargetSource? teacher = settings.Mode.NeedsTeacher() && local
            ? ModelSoftTargetSource.FromCheckpoint(t.Teacher, t.Checkpoint, settings.Temperature, device)
            : served;

        var progress = new ConsoleProgress(name);
        var history = new List<EpochMetrics>();
        var run = new TrainingRun(settings, train, evaluation, device, o.RunDirectory, teacher, o.TargetsDirectory)
        {
            Progress = progress,
            FetchProgress = progress,
            Resuming = done => Console.WriteLine($"[{name}] resuming after epoch {done} from {o.RunDirectory}"),
            EpochCompleted = m =>
            {
                history.Add(m);
                progress.EpochDone(m, evaluatedOn);
            },
        };
        Console.WriteLine($"[{name}] {settings.Mode.Name()} {o.Architecture}{o.Width} on {device.type}, {o.Epochs} epochs, run directory {o.RunDirectory}");
        var all = await run.RunAsync(cancellationToken);
        RunOutputs.WriteMetrics(o.RunDirectory, all);
        RunOutputs.WritePlot(o.RunDirectory, name, all);

        var last = all[^1];
        var report = new RunReport(name, o.Scenario, settings.Mode.Name(), o.Architecture, o.Width, o.Epochs, o.Seed,
            settings.LabelledExamples, o.Temperature, o.Alpha, evaluatedOn, last.EvalAccuracy, last.EvalLoss,
            teacher is null ? null : t.Teacher,
            all.SelectMany(m => m.TeacherVersions).Distinct().Order(StringComparer.Ordinal).ToArray(),
            all.Sum(m => m.Seconds), all);
        RunOutputs.WriteReport(o.RunDirectory, report);
        Console.WriteLine($"[{name}] done: {evaluatedOn} accuracy {last.EvalAccuracy:0.0000} after {o.Epochs} epochs ({clock.Elapsed.TotalSeconds:0}s this process)");
        return report;
    }

    /// <summary>The training settings the options describe.</summary>
    public static TrainingSettings ToSettings(TrainerOptions o) => new()
    {
        Mode = Enum.Parse<TrainingMode>(o.Mode, ignoreCase: true),
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
    };

    private static GrpcChannelOptions ChannelOptions() => new()
    {
        // Replies for a large batch exceed the 4 MB default.
        MaxReceiveMessageSize = 64 * 1024 * 1024,
        MaxSendMessageSize = 64 * 1024 * 1024,
    };
}
