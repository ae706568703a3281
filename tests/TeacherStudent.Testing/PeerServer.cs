namespace TeacherStudent.Testing;

/// <summary>
/// The Python peer of the teacher service (bench/peer/peer_server.py, Debian's Python and torch) serving one
/// exported classifier on a free loopback port; killed when disposed.
/// </summary>
public sealed class PeerServer : IDisposable
{
    private readonly RunningProcess process;
    private readonly TemporaryDirectory stubs;

    private PeerServer(RunningProcess process, TemporaryDirectory stubs, string address)
    {
        this.process = process;
        this.stubs = stubs;
        Address = address;
    }

    /// <summary>The script, in the repository.</summary>
    public static string Script => Path.Combine(Builds.RepositoryRoot, "bench", "peer", "peer_server.py");

    /// <summary>http://127.0.0.1:port, as a gRPC channel takes it.</summary>
    public string Address { get; }

    /// <summary>The line the peer printed when it started listening: its teacher, threads, batcher and BLAS.</summary>
    public string Banner => process.Output.Split('\n').FirstOrDefault(l => l.StartsWith("peer listening on", StringComparison.Ordinal))?.TrimEnd() ?? "";

    /// <summary>The operating system's id of the process.</summary>
    public int Id => process.Id;

    /// <summary>
    /// Starts the peer on <paramref name="modelDirectory"/> (model.safetensors + model.json, as a training run exports
    /// them) with <paramref name="threads"/> torch threads and the batcher's limits; waits until it listens.
    /// The process inherits this one's environment (bench.sh's jemalloc among it).
    /// </summary>
    public static async Task<PeerServer> StartAsync(string modelDirectory, int threads, int maxBatch = 256, double maxDelayMs = 2,
        string teacher = "fashion")
    {
        var stubs = new TemporaryDirectory("peer-stubs");
        RunningProcess? process = null;
        try
        {
            process = RunningProcess.StartProgram(SystemPython.Executable,
                [Script, "--model", Path.GetFullPath(modelDirectory), "--name", teacher, "--threads", $"{threads}",
                 "--max-batch", $"{maxBatch}", "--max-delay-ms", maxDelayMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
                 "--stubs-dir", stubs.Path],
                Builds.RepositoryRoot,
                new Dictionary<string, string> { ["PYTHONDONTWRITEBYTECODE"] = "1" }); // no __pycache__ left in the source tree
            var address = await process.WaitForAsync(@"peer listening on (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(2));
            return new PeerServer(process, stubs, address);
        }
        catch
        {
            process?.Dispose();
            stubs.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        process.Dispose();
        stubs.Dispose();
    }
}
