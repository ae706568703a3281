using Grpc.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Training;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.Hosting;

/// <summary>
/// The generic host around one training job: configuration (appsettings.json, then environment
/// variables such as <c>Training__Epochs</c>, then command-line switches), validated options,
/// and a user's mistake turned into one clear line and a non-zero exit code.
/// </summary>
public static class TrainerHost
{
    public const int ExitUsage = 2;
    public const int ExitFailure = 1;

    /// <summary>
    /// Runs <typeparamref name="TJob"/> in a host whose <typeparamref name="TOptions"/> bind to
    /// <paramref name="section"/> and whose <see cref="TeacherClientOptions"/> bind to "Teacher".
    /// </summary>
    public static async Task<int> RunAsync<TOptions, TJob>(IDictionary<string, string?> switches, string section,
        Func<TJob, CancellationToken, Task> run, CancellationToken cancellationToken, Action<IServiceCollection>? moreOptions = null)
        where TOptions : class
        where TJob : class
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(switches);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // A start-up failure is reported below as one line; the host's own log of it is a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.Services.AddOptions<TOptions>().BindConfiguration(section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<TeacherClientOptions>().BindConfiguration("Teacher")
            .PostConfigure(o => o.SplitSingleAddress()).ValidateDataAnnotations().ValidateOnStart();
        moreOptions?.Invoke(builder.Services);
        builder.Services.AddSingleton<TJob>();
        // Ctrl+C and SIGTERM reach the host's console lifetime, which only stops the host: the job
        // learns of them through ApplicationStopping, stops after its current step and exits.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            using var host = builder.Build();
            await host.StartAsync(cancellationToken);
            using var onStop = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(stopping.Cancel);
            await run(host.Services.GetRequiredService<TJob>(), stopping.Token);
            await host.StopAsync(CancellationToken.None);
            return 0;
        }
        catch (OptionsValidationException e)
        {
            return Fail(ExitUsage, string.Join(" ", e.Failures));
        }
        catch (InvalidOperationException e) when (e.InnerException is FormatException or InvalidCastException or ArgumentException)
        {
            // The configuration binder could not convert a value (e.g. --epochs ten).
            return Fail(ExitUsage, $"{e.Message} {e.InnerException.Message}");
        }
        catch (Exception e) when (e is DatasetNotFoundException or ArgumentException or InvalidDataException)
        {
            return Fail(ExitUsage, e.Message);
        }
        catch (RpcException e)
        {
            return Fail(ExitFailure, $"the teacher service answered {e.StatusCode}: {e.Status.Detail}");
        }
        catch (Exception e) when (e is TeacherBatchException or TeacherUnavailableException or TeacherChangedException or TimeoutException)
        {
            return Fail(ExitFailure, e.Message);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return Fail(ExitFailure, "cancelled; the run resumes from its last save (an epoch, or a checkpoint step) when started again.");
        }
    }

    private static int Fail(int code, string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return code;
    }
}
