using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Registry;

/// <summary>The teacher registry, its loader and the watched folder, added to a service collection in one call.</summary>
public static class RegistryServiceRegistration
{
    /// <summary>
    /// Options "Teacher", "Teachers" and "Registry"; the registry, loaded with every configured
    /// teacher when first resolved (a teacher that cannot be loaded stops start-up); the loader of
    /// new versions; the ensembles of the teachers (<see cref="TeacherEnsembles"/>); the watcher of <see cref="RegistryOptions.WatchDirectory"/>.
    /// </summary>
    public static IServiceCollection AddTeacherRegistry(this IServiceCollection services)
    {
        // Bound from the root: "Teacher" and "Teachers" are two sections of one list of teachers.
        services.AddOptions<TeachersOptions>().Configure<IConfiguration>((options, configuration) => configuration.Bind(options))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RegistryOptions>().BindConfiguration(RegistryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(LoadRegistry);
        services.AddSingleton<TeacherEnsembles>();
        services.AddSingleton<TeacherLoader>();
        services.AddSingleton<AllowedCheckpointFolders>();
        services.AddSingleton<CheckpointFolderWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<CheckpointFolderWatcher>());
        return services;
    }

    private static TeacherRegistry LoadRegistry(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<TeachersOptions>>().Value;
        var logger = services.GetRequiredService<ILogger<TeacherRegistry>>();
        var loaded = new List<LoadedTeacher>();
        try
        {
            foreach (var (_, teacher) in options.All)
            {
                loaded.Add(Load(teacher));
                var last = loaded[^1];
                logger.TeacherLoaded(last.Name, last.Version, last.Spec.Architecture, last.NumOutputs, last.DeviceName, teacher.Checkpoint);
            }
            return new TeacherRegistry(loaded);
        }
        catch
        {
            foreach (var teacher in loaded) teacher.Dispose();
            throw;
        }
    }

    private static LoadedTeacher Load(TeacherOptions options)
    {
        try
        {
            return LoadedTeacher.Load(options.Name, options.Checkpoint, options.Device, options.MaxBatch, options.Instances, options.DType);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever went wrong (no file, no permission, not a checkpoint, no such device), start-up
            // stops with one line that says so.
            throw new TeacherStartupException($"teacher '{options.Name}' could not be loaded from '{options.Checkpoint}': {e.Message}", e);
        }
    }
}
