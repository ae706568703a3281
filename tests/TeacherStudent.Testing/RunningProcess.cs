using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace TeacherStudent.Testing;

/// <summary>
/// A service or trainer started as its own process (<c>dotnet some.dll args</c>), its output
/// collected; killed when disposed, so that no test leaves a process behind.
/// </summary>
public sealed class RunningProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();

    private RunningProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Everything the process printed so far, stdout and stderr interleaved.</summary>
    public string Output { get { lock (output) return output.ToString(); } }

    public bool HasExited => process.HasExited;

    /// <summary>The operating system's id of the process (for /proc readings).</summary>
    public int Id => process.Id;

    public int ExitCode => process.ExitCode;

    /// <summary>
    /// Starts <c>dotnet <paramref name="dll"/> <paramref name="arguments"/></c> with one torch thread:
    /// tests run several processes on two cores.
    /// </summary>
    public static RunningProcess Start(string dll, params string[] arguments) => Start(dll, arguments, torchThreads: 1);

    /// <summary>Starts <c>dotnet <paramref name="dll"/> <paramref name="arguments"/></c> with the given number of torch threads.</summary>
    public static RunningProcess Start(string dll, string[] arguments, int torchThreads)
    {
        dll = Path.GetFullPath(dll); // the process starts in the dll's folder
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        info.ArgumentList.Add(dll);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        info.Environment["OMP_NUM_THREADS"] = torchThreads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new RunningProcess(Process.Start(info) ?? throw new InvalidOperationException($"could not start {dll}"));
    }

    /// <summary>
    /// Starts a program that is not a .NET service (a Python server, say): <paramref name="fileName"/> with
    /// <paramref name="arguments"/> in <paramref name="workingDirectory"/>, with <paramref name="environment"/> added to its own.
    /// </summary>
    public static RunningProcess StartProgram(string fileName, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        return new RunningProcess(Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}"));
    }

    /// <summary>Waits until the output matches <paramref name="pattern"/>; returns the first group (or the match).</summary>
    public async Task<string> WaitForAsync(string pattern, TimeSpan timeout)
    {
        var regex = new Regex(pattern);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var match = regex.Match(Output);
            if (match.Success) return match.Groups.Count > 1 ? match.Groups[1].Value : match.Value;
            if (process.HasExited)
                throw new InvalidOperationException($"process exited ({process.ExitCode}) before printing /{pattern}/:\n{Output}");
            await Task.Delay(50);
        }
        throw new TimeoutException($"no /{pattern}/ within {timeout}:\n{Output}");
    }

    /// <summary>Waits for the process to exit; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try { await process.WaitForExitAsync(cancel.Token); }
        catch (OperationCanceledException) { throw new TimeoutException($"process still running after {timeout}:\n{Output}"); }
        process.WaitForExit(); // drains the output handlers
        return process.ExitCode;
    }

    /// <summary>Asks the process to stop, as Kubernetes and <c>kill</c> do (SIGTERM); it goes on until it has stopped by itself.</summary>
    public void Terminate()
    {
        const int sigterm = 15;
        if (!process.HasExited && Kill(process.Id, sigterm) != 0 && !process.HasExited)
            throw new InvalidOperationException($"could not send SIGTERM to process {process.Id} (errno {Marshal.GetLastPInvokeError()})");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Kills the process at once, as kill -9 would.</summary>
    public void Kill()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    public void Dispose()
    {
        try { Kill(); }
        catch (InvalidOperationException) { /* never started or already gone */ }
        process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
    }
}
