using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using TeacherStudent.Contracts.V1;

namespace TeacherStudent.Teacher.Tests.Fixtures;

/// <summary>
/// The teacher service running in this process on a free loopback port: real Kestrel, real
/// HTTP/2, reached through a real gRPC channel.
/// </summary>
public sealed class TeacherServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly GrpcChannel channel;

    private TeacherServer(WebApplication app, string address)
    {
        this.app = app;
        Address = address;
        channel = GrpcChannel.ForAddress(address);
        Client = new Contracts.V1.Teacher.TeacherClient(channel);
        Admin = new TeacherAdmin.TeacherAdminClient(channel);
    }

    /// <summary>http://127.0.0.1:PORT</summary>
    public string Address { get; }

    /// <summary>A client on this server.</summary>
    public Contracts.V1.Teacher.TeacherClient Client { get; }

    /// <summary>A client of the admin service on this server.</summary>
    public TeacherAdmin.TeacherAdminClient Admin { get; }

    /// <summary>The service's own services, for looking inside.</summary>
    public IServiceProvider Services => app.Services;

    /// <summary>
    /// Starts the service with <paramref name="settings"/> (configuration keys such as
    /// "Teacher:Checkpoint") on a port the OS picks.
    /// </summary>
    public static async Task<TeacherServer> StartAsync(IReadOnlyDictionary<string, string> settings, Action<IServiceCollection>? configureServices = null)
    {
        // Port 0: Kestrel binds a free port itself, so no other process can take it in between.
        var args = new List<string> { "--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning" };
        args.AddRange(settings.Select(s => $"--{s.Key}={s.Value}"));
        var app = TeacherApp.Build([.. args], configureServices);
        await app.StartAsync();
        return new TeacherServer(app, app.Urls.Single());
    }

    /// <summary>A new SoftTargets stream, sending <paramref name="headers"/> (an API key, say) when given.</summary>
    public SoftTargetStream OpenStream(Grpc.Core.Metadata? headers = null) => new(Client.SoftTargets(headers));

    /// <summary>Every sample of one Generate call, in the order they came, each with the version that wrote it; cancelling <paramref name="cancellationToken"/> cancels the call.</summary>
    public async Task<List<(GeneratedSample Sample, string Version)>> GenerateAsync(GenerateRequest request, CancellationToken cancellationToken = default)
    {
        using var call = Client.Generate(request, cancellationToken: cancellationToken);
        var samples = new List<(GeneratedSample, string)>();
        await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
            samples.AddRange(response.Samples.Select(s => (s, response.TeacherVersion)));
        return samples;
    }

    /// <summary>
    /// Stops the service the way SIGTERM does (health, drain, then Kestrel); cancelling
    /// <paramref name="cancellationToken"/> cuts the waiting short, as the host's shutdown timeout would.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => app.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        channel.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
