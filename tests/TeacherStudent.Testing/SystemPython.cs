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
        var environment = new Dictionary<string, string>
        {
            ["OMP_NUM_THREADS"] = "1", // the tests share two cores
            ["PYTHONDONTWRITEBYTECODE"] = "1", // no __pycache__ left in the source tree
        };
        if (pythonPath is not null) environment["PYTHONPATH"] = pythonPath;
        var run = await FinishedProcess.RunAsync(Executable, [script, .. arguments], workingDirectory, timeout ?? TimeSpan.FromMinutes(2), environment);
        if (run.ExitCode != 0)
            throw new InvalidOperationException($"{Executable} {script} {string.Join(' ', arguments)} exited {run.ExitCode}:\n{run.Output}\n{run.Error}");
        return run.Output;
    }
}
