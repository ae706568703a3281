namespace TeacherStudent.Clients.Tests;

/// <summary>A foreign client (Python, Node) run to its end as a process, its output kept.</summary>
public sealed record ClientProcess(int ExitCode, string Output, string Error)
{
    /// <summary>Debian's Python: the one that python3-grpcio, python3-grpc-tools and python3-numpy install for (another python3 may come first on PATH).</summary>
    public const string Python = "/usr/bin/python3";

    public static string PythonClientDirectory => Path.Combine(Builds.RepositoryRoot, "clients", "python");

    public static string NodeClientDirectory => Path.Combine(Builds.RepositoryRoot, "clients", "node");

    /// <summary>Runs <c>python3 -m teacherstudent_client ARGS</c>.</summary>
    public static Task<ClientProcess> PythonAsync(params string[] arguments) =>
        RunAsync(Python, ["-m", "teacherstudent_client", .. arguments], PythonClientDirectory);

    /// <summary>Runs <c>node src/cli.js ARGS</c>, after <c>npm ci</c> when its packages are not installed yet.</summary>
    public static async Task<ClientProcess> NodeAsync(params string[] arguments)
    {
        await InstallNodePackagesAsync();
        return await RunAsync("node", ["src/cli.js", .. arguments], NodeClientDirectory);
    }

    /// <summary>Installs the Node client's packages from its package-lock.json (npm ci) unless they are there.</summary>
    public static Task InstallNodePackagesAsync() => NodePackages.Value;

    private static readonly Lazy<Task> NodePackages = new(async () =>
    {
        if (File.Exists(Path.Combine(NodeClientDirectory, "node_modules", "@grpc", "grpc-js", "package.json"))) return;
        var install = await RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], NodeClientDirectory, TimeSpan.FromMinutes(5));
        if (install.ExitCode != 0) throw new InvalidOperationException($"npm ci failed in {NodeClientDirectory}:\n{install.Output}\n{install.Error}");
    });

    public static async Task<ClientProcess> RunAsync(string fileName, string[] arguments, string workingDirectory, TimeSpan? timeout = null)
    {
        var run = await FinishedProcess.RunAsync(fileName, arguments, workingDirectory, timeout ?? TimeSpan.FromMinutes(1));
        return new ClientProcess(run.ExitCode, run.Output, run.Error);
    }

    public override string ToString() => $"exit {ExitCode}\n{Output}\n{Error}";
}
