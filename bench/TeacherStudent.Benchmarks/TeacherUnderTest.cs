using TeacherStudent.Testing;

namespace TeacherStudent.Benchmarks;

/// <summary>A teacher service process started for one measurement, on a free loopback port.</summary>
public sealed class TeacherUnderTest : IDisposable
{
    private readonly RunningProcess process;

    private TeacherUnderTest(RunningProcess process, string address)
    {
        this.process = process;
        Address = address;
    }

    public string Address { get; }

    /// <summary>The service's process id (its memory is read from /proc).</summary>
    public int ProcessId => process.Id;

    /// <summary>Starts the service with the checkpoint and extra configuration switches; waits until it listens.</summary>
    public static Task<TeacherUnderTest> StartAsync(string serviceDll, string checkpoint, params string[] settings) =>
        StartAsync(serviceDll, checkpoint, "fashion", settings);

    /// <summary>Starts the service with the checkpoint served as <paramref name="name"/>.</summary>
    public static async Task<TeacherUnderTest> StartAsync(string serviceDll, string checkpoint, string name, string[] settings)
    {
        var process = RunningProcess.Start(serviceDll,
            ["--urls", "http://127.0.0.1:0", $"--Teacher:Name={name}", $"--Teacher:Checkpoint={Path.GetFullPath(checkpoint)}", "--Logging:LogLevel:Default=Warning",
             "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information", .. settings],
            torchThreads: Environment.ProcessorCount);
        try
        {
            var address = await process.WaitForAsync(@"Now listening on: (http://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(2));
            return new TeacherUnderTest(process, address);
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    public void Dispose() => process.Dispose();
}
