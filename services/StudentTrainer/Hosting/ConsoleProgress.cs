using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Training;

namespace TeacherStudent.StudentTrainer.Hosting;

/// <summary>
/// A progress bar on a terminal; plain lines (one per epoch) when output is redirected, so logs
/// stay readable.
/// </summary>
public sealed class ConsoleProgress(string name) : IProgress<BatchProgress>, IProgress<(int Done, int Total)>, IProgress<LanguageStepProgress>
{
    private const int BarWidth = 30;
    private readonly bool interactive = !Console.IsOutputRedirected;
    private readonly Lock console = new();
    private DateTime lastDraw;

    public void Report(BatchProgress value)
    {
        if (!interactive) return;
        if (value.Batch != value.Batches && DateTime.UtcNow - lastDraw < TimeSpan.FromMilliseconds(100)) return;
        lastDraw = DateTime.UtcNow;
        Draw($"epoch {value.Epoch}/{value.Epochs}", value.Batch, value.Batches, $"loss {value.MeanLoss:0.0000}");
    }

    public void Report(LanguageStepProgress value)
    {
        if (!interactive) return;
        if (value.Step != value.Steps && DateTime.UtcNow - lastDraw < TimeSpan.FromMilliseconds(100)) return;
        lastDraw = DateTime.UtcNow;
        Draw("steps", value.Step, value.Steps, $"loss {value.Loss:0.0000}, {value.TokensPerSecond:0} tokens/s");
    }

    public void Report((int Done, int Total) value)
    {
        if (interactive)
        {
            Draw("soft targets", value.Done, value.Total, "");
            if (value.Done == value.Total) Console.WriteLine();
        }
        else if (value.Done == value.Total)
        {
            Console.WriteLine($"[{name}] fetched soft targets for {value.Total} examples");
        }
    }

    /// <summary>Ends the bar's line and prints the epoch's summary, after <paramref name="stage"/> (e.g. "generation 2") when given.</summary>
    public void EpochDone(EpochMetrics m, string evaluatedOn, string? stage = null)
    {
        if (interactive) Console.WriteLine();
        var versions = m.TeacherVersions.Count == 0 ? "" : $" teacher {string.Join(",", m.TeacherVersions)}";
        var prefix = stage is null ? "" : stage + " ";
        Console.WriteLine(
            $"[{name}] {prefix}epoch {m.Epoch}: train loss {m.TrainLoss:0.0000}, {evaluatedOn} loss {m.EvalLoss:0.0000}, " +
            $"{evaluatedOn} accuracy {m.EvalAccuracy:0.0000} ({m.Seconds:0.0}s){versions}");
    }

    /// <summary>Ends the bar's line and prints what an evaluation of a language model measured.</summary>
    public void EvaluationDone(LanguageMetrics m)
    {
        if (interactive) Console.WriteLine();
        var versions = m.TeacherVersions.Count == 0 ? "" : $" teacher {string.Join(",", m.TeacherVersions)}";
        var train = m.TrainLoss is { } loss ? $"train loss {loss:0.0000}, " : "";
        Console.WriteLine($"[{name}] step {m.Step}: {train}validation loss {m.ValidationLoss:0.0000}, perplexity {m.ValidationPerplexity:0.00} ({m.Seconds:0.0}s){versions}");
    }

    /// <summary>Prints one line about the run (on a line of its own, even while a bar is drawn).</summary>
    public void Note(string message)
    {
        lock (console)
        {
            if (interactive) Console.WriteLine();
            Console.WriteLine($"[{name}] {message}");
        }
    }

    private void Draw(string label, int done, int total, string suffix)
    {
        int filled = total == 0 ? BarWidth : (int)((long)BarWidth * done / total);
        Console.Write($"\r[{name}] {label} [{new string('#', filled)}{new string('.', BarWidth - filled)}] {done}/{total} {suffix}   ");
    }
}
