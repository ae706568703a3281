using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TeacherStudent.StudentTrainer.Tests.Fixtures;

/// <summary>
/// A <see cref="ScriptedTeacher"/> served in this process by real Kestrel over real HTTP/2 on
/// a loopback port the OS picks; stoppable and startable again on the same port.
/// </summary>
public sealed class ScriptedTeacherServer : IAsyncDisposable
{
    private WebApplication? app;

    private ScriptedTeacherServer(ScriptedTeacher teacher) => Teacher = teacher;

    /// <summary>What the server answers with, shared across restarts.</summary>
    public ScriptedTeacher Teacher { get; }

    /// <summary>http://127.0.0.1:PORT</summary>
    public string Address { get; private set; } = "";

    public static async Task<ScriptedTeacherServer> StartAsync()
    {
        var server = new ScriptedTeacherServer(new ScriptedTeacher());
        await server.StartAsync("http://127.0.0.1:0");
        return server;
    }

    /// <summary>Starts the server again on the port it had.</summary>
    public Task RestartAsync() => StartAsync(Address);

    /// <summary>Stops the server: connections go, and the port refuses new ones until a restart.</summary>
    public async Task StopAsync()
    {
        if (app is null) return;
        // No grace: open streams are cut as a dying process would cut them.
        await app.StopAsync(new CancellationToken(canceled: true));
        await app.DisposeAsync();
        app = null;
    }

    private async Task StartAsync(string url)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(e => e.Protocols = HttpProtocols.Http2));
        builder.WebHost.UseUrls(url);
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(Teacher);
        app = builder.Build();
        app.MapGrpcService<ScriptedTeacher>();
        await app.StartAsync();
        Address = app.Urls.Single();
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
