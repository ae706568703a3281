using System.Diagnostics;

namespace TeacherStudent.Testing;

/// <summary>A program run to its end with nothing on its standard input, what it printed kept apart by stream.</summary>
public sealed record FinishedProcess(int ExitCode, string Output, string Error)
{
    /// <summary>
    /// Runs <paramref name="fileName"/> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>, with
    /// <paramref name="environment"/> added to its own; killed, with a <see cref="TimeoutException"/> carrying what it
    /// printed, when it has not finished within <paramref name="timeout"/>.
    /// </summary>
    public static async Task<FinishedProcess> RunAsync(string fileName, IEnumerable<string> arguments, string workingDirectory,
        TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // nothing to read: CI runs without a terminal
            UseShellExecute = false,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', info.ArgumentList)} did not finish in time:\n{await output}\n{await error}");
        }
        return new FinishedProcess(process.ExitCode, await output, await error);
    }
}
