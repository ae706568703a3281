using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace TeacherStudent.Testing;

/// <summary>
/// A real <c>redis-server</c> process on a free loopback port, without persistence
/// (<c>--save "" --appendonly no</c>), for tests. It can be stopped and started again on the
/// same port to play an outage; disposing kills it.
/// </summary>
public sealed class RedisServer : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);
    private readonly TemporaryDirectory directory = new("redis");
    private readonly List<string> output = [];
    private Process? process;

    private RedisServer(int port)
    {
        Port = port;
    }

    /// <summary>The loopback port it listens on (kept across Stop/Start).</summary>
    public int Port { get; }

    /// <summary>A StackExchange.Redis connection string for it.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>True while the process runs.</summary>
    public bool IsRunning => process is { HasExited: false };

    /// <summary>Starts redis-server on a free port and waits until it answers PING.</summary>
    /// <exception cref="InvalidOperationException">redis-server is not installed, or did not come up.</exception>
    public static RedisServer StartNew()
    {
        var server = new RedisServer(FreePort.Next());
        try
        {
            server.Start();
        }
        catch
        {
            server.Dispose();
            throw;
        }
        return server;
    }

    /// <summary>Starts the server again (on the same port) and waits until it answers PING.</summary>
    public void Start()
    {
        if (IsRunning) return;
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory.Path,
        };
        foreach (var argument in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.Path })
            start.ArgumentList.Add(argument);
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("redis-server is not on PATH: install it (apt-get install redis-server).", e);
        }
        process.OutputDataReceived += (_, line) => Remember(line.Data);
        process.ErrorDataReceived += (_, line) => Remember(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        WaitUntilAnswering();
    }

    /// <summary>Kills the server and waits until it is gone; the port is free again afterwards.</summary>
    public void Stop()
    {
        if (process is null) return;
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        process.Dispose();
        process = null;
    }

    /// <summary>True when a PING on the port is answered with PONG.</summary>
    public bool Answers()
    {
        try
        {
            using var client = new TcpClient();
            client.ReceiveTimeout = client.SendTimeout = 500;
            client.Connect("127.0.0.1", Port);
            using var stream = client.GetStream();
            stream.Write("PING\r\n"u8);
            var buffer = new byte[16];
            var read = stream.Read(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return false;
        }
    }

    private void WaitUntilAnswering()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (process!.HasExited)
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode} on port {Port}: {Output()}");
            if (Answers()) return;
            Thread.Sleep(25);
        }
        Stop();
        throw new InvalidOperationException($"redis-server did not answer PING on port {Port} within {StartTimeout.TotalSeconds} s: {Output()}");
    }

    private void Remember(string? line)
    {
        if (line is null) return;
        lock (output)
        {
            output.Add(line);
            if (output.Count > 50) output.RemoveAt(0);
        }
    }

    private string Output()
    {
        lock (output) return string.Join(Environment.NewLine, output);
    }

    public void Dispose()
    {
        Stop();
        directory.Dispose();
    }
}
