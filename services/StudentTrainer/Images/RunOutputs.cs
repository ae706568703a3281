using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using TeacherStudent.Distillation.Training;

namespace TeacherStudent.StudentTrainer.Images;

/// <summary>What a run leaves in its directory besides checkpoints: metrics.csv, curves.svg and report.json.</summary>
public static class RunOutputs
{
    public const string MetricsFile = "metrics.csv";
    public const string PlotFile = "curves.svg";
    public const string ReportFile = "report.json";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Rewrites metrics.csv with one row per epoch.</summary>
    public static void WriteMetrics(string runDirectory, IEnumerable<EpochMetrics> history)
    {
        var csv = new StringBuilder("epoch,train_loss,eval_loss,eval_accuracy,seconds,teacher_versions\n");
        foreach (var m in history)
            csv.Append(CultureInfo.InvariantCulture,
                $"{m.Epoch},{m.TrainLoss:R},{m.EvalLoss:R},{m.EvalAccuracy:R},{m.Seconds:0.###},{string.Join(' ', m.TeacherVersions)}\n");
        File.WriteAllText(Path.Combine(runDirectory, MetricsFile), csv.ToString());
    }

    /// <summary>Plots loss (left axis) and accuracy (right axis) per epoch into curves.svg.</summary>
    public static void WritePlot(string runDirectory, string title, IReadOnlyList<EpochMetrics> history)
    {
        var model = new PlotModel { Title = title, Background = OxyColors.White };
        model.Legends.Add(new Legend { LegendPlacement = LegendPlacement.Outside, LegendPosition = LegendPosition.BottomCenter, LegendOrientation = LegendOrientation.Horizontal });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "epoch", Minimum = 0.5, MajorStep = Math.Max(1, history.Count / 10) });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "loss", Key = "loss", Minimum = 0 });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Right, Title = "accuracy", Key = "accuracy" });
        model.Series.Add(Line("train loss", "loss", history.Select(m => new DataPoint(m.Epoch, m.TrainLoss))));
        model.Series.Add(Line("eval loss", "loss", history.Select(m => new DataPoint(m.Epoch, m.EvalLoss))));
        model.Series.Add(Line("eval accuracy", "accuracy", history.Select(m => new DataPoint(m.Epoch, m.EvalAccuracy))));
        using var file = File.Create(Path.Combine(runDirectory, PlotFile));
        new SvgExporter { Width = 720, Height = 420 }.Export(model, file);
    }

    private static LineSeries Line(string title, string axis, IEnumerable<DataPoint> points)
    {
        var series = new LineSeries { Title = title, YAxisKey = axis, MarkerType = MarkerType.Circle };
        series.Points.AddRange(points);
        return series;
    }

    /// <summary>Writes report.json.</summary>
    public static void WriteReport(string runDirectory, RunReport report) =>
        File.WriteAllText(Path.Combine(runDirectory, ReportFile), JsonSerializer.Serialize(report, Json));

    /// <summary>Reads a run's report.json.</summary>
    public static RunReport ReadReport(string runDirectory)
    {
        var path = Path.Combine(runDirectory, ReportFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist: has that run finished?");
        return JsonSerializer.Deserialize<RunReport>(File.ReadAllText(path), Json)
               ?? throw new InvalidDataException($"{path} is empty.");
    }
}

/// <summary>The final report of one run; a self-distillation run adds its <paramref name="Generations"/>.</summary>
/// <param name="Epochs">Epochs trained in all (every generation's, for a self run).</param>
/// <param name="TeacherVersions">Every teacher version the run learned from, in the order they first answered.</param>
public sealed record RunReport(
    string Name,
    string Scenario,
    string Mode,
    string Architecture,
    int Width,
    int Epochs,
    int Seed,
    int? LabelledExamples,
    double Temperature,
    double Alpha,
    string EvaluatedOn,
    double Accuracy,
    double Loss,
    string? Teacher,
    IReadOnlyList<string> TeacherVersions,
    double Seconds,
    IReadOnlyList<EpochMetrics> History,
    IReadOnlyList<GenerationReport>? Generations = null);

/// <summary>One generation of a self-distillation run, in its report.</summary>
/// <param name="Version">Digest of this generation's checkpoint.</param>
/// <param name="TeacherVersion">Digest of the checkpoint of the generation that taught it (null for generation 1).</param>
public sealed record GenerationReport(int Generation, string Mode, double Accuracy, double Loss, int Epochs, string Version, string? TeacherVersion);
