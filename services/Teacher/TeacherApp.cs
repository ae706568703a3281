using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Caching;
using TeacherStudent.Teacher.Operations;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Rpc;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Upstream;

namespace TeacherStudent.Teacher;

/// <summary>
/// Builds the teacher host, for Program and for tests that run it in-process on a real port.
/// The teacher is loaded here rather than on the first call, so that a bad option or checkpoint
/// stops the service before it listens, with one clear log line.
/// </summary>
public static class TeacherApp
{
    /// <summary>
    /// The configured application, teacher loaded, not yet started. Arguments are the usual
    /// ASP.NET Core ones (--urls, --Teacher:Checkpoint=..., --Cache:Redis=...).
    /// </summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="configureServices">Registrations applied after the service's own, so that they win (tests swap the cache this way).</param>
    /// <exception cref="TeacherStartupException">options are invalid or the teacher cannot be loaded (already logged).</exception>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        // appsettings.json sits beside the assembly, wherever the process is started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddTeacherServices();
        builder.AddTeacherOperations();
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        Load(app);
        app.UseHealthOnlyPort();
        app.MapGrpcService<TeacherGrpcService>();
        app.MapGrpcService<TeacherAdminGrpcService>();
        app.MapTeacherOperations();
        return app;
    }

    private static void Load(WebApplication app)
    {
        try
        {
            if (SecretSettings.CommandLineProblem(app.Configuration) is { } secretOnCommandLine) throw new TeacherStartupException(secretOnCommandLine);
            app.Services.GetRequiredService<TeacherRegistry>();
            app.Services.GetRequiredService<TeacherEnsembles>();
            app.Services.GetRequiredService<UpstreamTeachers>();
            app.Services.GetRequiredService<ISoftTargetCache>();
            _ = app.Services.GetRequiredService<IOptions<BatchingOptions>>().Value;
            // Read here rather than on start, so that a bad value is one log line, not a stack trace.
            _ = app.Services.GetRequiredService<IOptions<RegistryOptions>>().Value;
            _ = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
            app.Services.GetRequiredService<Auth.CallerKeys>(); // reads the key files
            _ = app.Services.GetRequiredService<IOptions<ShutdownOptions>>().Value;
            _ = app.Services.GetRequiredService<IOptions<HealthOptions>>().Value;
        }
        catch (OptionsValidationException e)
        {
            throw Failed(app, string.Join(" ", e.Failures), e);
        }
        catch (TeacherStartupException e)
        {
            throw Failed(app, e.Message, e);
        }
    }

    /// <summary>
    /// For the service in a process of its own (Program): when a teacher runs several forwards at
    /// once (Instances), each gets an equal share of torch's threads (OMP_NUM_THREADS, else one
    /// per core), so that the copies do not fight over the cores; at least one each. Not done for a
    /// host inside another process (tests), whose torch settings are that process's own. Threads
    /// take the setting when they first run torch, so this comes before the first request. The
    /// batchers' forward threads set their own count before each forward (<see cref="Batching.DynamicBatcher"/>),
    /// out of the threads read here first (<see cref="Batching.TorchThreads.Total"/>).
    /// </summary>
    public static void ShareTorchThreads(WebApplication app)
    {
        var teachers = app.Services.GetRequiredService<TeacherRegistry>().All;
        var most = teachers.Count == 0 ? 1 : teachers.Max(t => t.Instances);
        if (most == 1) return;
        var threads = Batching.TorchThreads.Total;
        var each = Math.Max(1, threads / most);
        TorchSharp.torch.set_num_threads(each);
        app.Logger.TorchThreadsShared(most, threads, each);
    }

    private static TeacherStartupException Failed(WebApplication app, string reason, Exception cause)
    {
        app.Logger.StartupFailed(reason);
        return new TeacherStartupException(reason, cause);
    }
}
