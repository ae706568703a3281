using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace TeacherStudent.Testing;

/// <summary>
/// A real <c>redis-server</c> process on a free loopback port, without persistence
/// (<c>--save "" --appendonly no</c>), for tests; with a password (<c>requirepass</c>) and TLS only
/// (<c>--port 0 --tls-port</c>) when asked. It can be stopped and started again on the same port to
/// play an outage; disposing kills it.
/// </summary>
public sealed class RedisServer : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);
    private readonly TemporaryDirectory directory = new("redis");
    private readonly List<string> output = [];
    private readonly string? password;
    private readonly RedisTls? tls;
    private Process? process;

    private RedisServer(int port, string? password, RedisTls? tls)
    {
        Port = port;
        this.password = password;
        this.tls = tls;
    }

    /// <summary>The loopback port it listens on (kept across Stop/Start).</summary>
    public int Port { get; }

    /// <summary>A StackExchange.Redis connection string for it.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>True while the process runs.</summary>
    public bool IsRunning => process is { HasExited: false };

    /// <summary>Starts redis-server on a free port and waits until it answers PING.</summary>
    /// <exception cref="InvalidOperationException">redis-server is not installed, or did not come up.</exception>
    public static RedisServer StartNew() => StartNew(password: null, tls: null);

    /// <summary>
    /// Starts redis-server on a free port, needing <paramref name="password"/> when given and speaking only TLS with
    /// <paramref name="tls"/>'s files when given, and waits until it answers PING.
    /// </summary>
    /// <exception cref="InvalidOperationException">redis-server is not installed, or did not come up.</exception>
    public static RedisServer StartNew(string? password, RedisTls? tls)
    {
        var server = new RedisServer(FreePort.Next(), password, tls);
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
        foreach (var argument in new[] { "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.Path })
            start.ArgumentList.Add(argument);
        string[] listen = tls is null
            ? ["--port", Port.ToString()]
            : ["--port", "0", "--tls-port", Port.ToString(), "--tls-cert-file", tls.CertificateFile, "--tls-key-file", tls.KeyFile,
               "--tls-ca-cert-file", tls.CaFile, "--tls-auth-clients", tls.RequireClientCertificates ? "yes" : "no"];
        foreach (var argument in listen) start.ArgumentList.Add(argument);
        if (password is not null)
        {
            // A test server's password on its command line is fine; the service's must not be (SecretSettings).
            start.ArgumentList.Add("--requirepass");
            start.ArgumentList.Add(password);
        }
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

    /// <summary>True when a PING on the port (after AUTH, over TLS, as the server needs) is answered with PONG.</summary>
    public bool Answers()
    {
        try
        {
            using var client = new TcpClient();
            client.ReceiveTimeout = client.SendTimeout = 500;
            client.Connect("127.0.0.1", Port);
            using var network = client.GetStream();
            using var stream = tls is null ? (Stream)network : Secure(network);
            // RESP arrays, so that a password with spaces is one argument.
            var command = password is null ? "PING\r\n" : $"*2\r\n$4\r\nAUTH\r\n${Encoding.UTF8.GetByteCount(password)}\r\n{password}\r\nPING\r\n";
            stream.Write(Encoding.UTF8.GetBytes(command));
            var answer = new StringBuilder();
            var buffer = new byte[64];
            while (!answer.ToString().Contains("PONG", StringComparison.Ordinal))
            {
                var read = stream.Read(buffer);
                if (read == 0) break;
                answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
                if (answer.ToString().Contains("-ERR", StringComparison.Ordinal) || answer.ToString().Contains("-WRONGPASS", StringComparison.Ordinal)) break;
            }
            return answer.ToString().EndsWith("+PONG\r\n", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException or System.Security.Authentication.AuthenticationException)
        {
            return false;
        }
    }

    // The server's certificate is the test's own; a client certificate is shown when the server asks for one.
    private SslStream Secure(NetworkStream network)
    {
        var ssl = new SslStream(network, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        var options = new SslClientAuthenticationOptions { TargetHost = "127.0.0.1" };
        if (tls!.RequireClientCertificates)
            options.ClientCertificates = [X509Certificate2.CreateFromPemFile(tls.ClientCertificateFile!, tls.ClientKeyFile)];
        ssl.AuthenticateAsClient(options);
        return ssl;
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

/// <summary>
/// TLS files of a <see cref="RedisServer"/>: its certificate and key, the authority its clients' certificates must
/// chain to, and (when it requires client certificates) one client certificate it accepts, for its own PING.
/// </summary>
public sealed record RedisTls(string CertificateFile, string KeyFile, string CaFile, bool RequireClientCertificates,
    string? ClientCertificateFile = null, string? ClientKeyFile = null);
