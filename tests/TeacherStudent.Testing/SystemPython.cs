using System.Diagnostics;

namespace TeacherStudent.Testing;

/// <summary>
/// Debian's Python, <c>/usr/bin/python3</c>, which sees Debian's python3-torch (1.13): the reference
/// the tests hold the project's models to. Another <c>python3</c> may come first on PATH and not see it.
/// </summary>
public static class SystemPython
{
    public const string Executable = "/usr/bin/python3";

    /// <summary>
    /// Runs <paramref name="script"/> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>,
    /// with <paramref name="pythonPath"/> as PYTHONPATH when given; returns its standard output, or
    /// fails with everything it printed when it exits non-zero.
    /// </summary>
    public static async Task<string> RunAsync(string script, IEnumerable<string> arguments, string workingDirectory,
        string? pythonPath = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(Executable)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        if (pythonPath is not null) info.Environment["PYTHONPATH"] = pythonPath;
        info.Environment["OMP_NUM_THREADS"] = "1"; // the tests share two cores
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1"; // no __pycache__ left in the source tree
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {Executable}");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Executable} {script} did not finish in time:\n{await output}\n{await error}");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{Executable} {script} {string.Join(' ', arguments)} exited {process.ExitCode}:\n{await output}\n{await error}");
        return await output;
    }
}
