using Microsoft.Extensions.Options;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Registry;

/// <summary>
/// Loads a checkpoint as the new version of a teacher, beside the version serving, and swaps it
/// in. Loads run one at a time. A checkpoint that cannot be read, or whose input shape or number
/// of outputs differ from the teacher it is meant for, leaves the serving version alone: the
/// reason is logged, kept as the teacher's last load error (shown by Describe) and thrown as a
/// <see cref="CheckpointLoadException"/>.
/// </summary>
public sealed class TeacherLoader(TeacherRegistry registry, IOptions<TeachersOptions> configured, ILogger<TeacherLoader> logger) : IDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);

    /// <summary>
    /// Loads <paramref name="checkpointPath"/> as teacher <paramref name="name"/>. A known teacher
    /// keeps its device, batch limit, instances and compute dtype; a new name is registered with <paramref name="newTeacher"/>,
    /// or refused when that is null. Loading the version already serving changes nothing.
    /// </summary>
    /// <exception cref="CheckpointLoadException">the checkpoint was not loaded; the message says why.</exception>
    public async Task<LoadOutcome> LoadAsync(string name, string checkpointPath, NewTeacherSettings? newTeacher, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            var known = registry.TryGet(name, out var current);
            if (!known && configured.Value.Ensembles.FirstOrDefault(e => e.Name == name) is { } ensemble)
                throw Failed(name, checkpointPath,
                    $"'{name}' is an ensemble of {string.Join(", ", ensemble.Members.Select(m => m.Teacher))} in this service's configuration, not a teacher with a checkpoint; "
                    + "load a new version of one of its members, or the checkpoint under another name.", known);
            if (!known && newTeacher is null)
                throw Failed(name, checkpointPath, $"there is no teacher named '{name}' (this service holds: {registry.KnownNames}); a new teacher is added through the TeacherAdmin.LoadCheckpoint rpc.", known);
            var next = await LoadBesideAsync(name, checkpointPath, current, newTeacher!, known);
            if (current is not null && Mismatch(current, next) is { } mismatch)
            {
                next.Dispose();
                throw Failed(name, checkpointPath, mismatch, known);
            }
            if (current is not null && current.Version == next.Version)
            {
                next.Dispose();
                registry.RecordLoadError(name, null);
                logger.TeacherUnchanged(name, current.Version, checkpointPath);
                return new LoadOutcome(name, current.Version, current.Version);
            }
            var previous = registry.Swap(next);
            logger.TeacherLoaded(next.Name, next.Version, next.Spec.Architecture, next.NumOutputs, next.DeviceName, checkpointPath);
            logger.TeacherSwapped(name, previous ?? "(none: a new teacher)", next.Version);
            return new LoadOutcome(name, next.Version, previous);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<LoadedTeacher> LoadBesideAsync(string name, string path, LoadedTeacher? current, NewTeacherSettings newTeacher, bool known)
    {
        try
        {
            // Reading and building a model is slow and synchronous: keep it off the caller's thread.
            // Not cancellable once begun, so that a model is never left half-owned.
            return await Task.Run(() => current is null
                ? LoadedTeacher.Load(name, path, newTeacher.Device, newTeacher.MaxBatch, dtype: newTeacher.DType)
                : LoadedTeacher.Load(name, path, current.Device, current.MaxBatch, current.Instances, current.DTypeSetting));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // No file, no permission, not a checkpoint, weights that do not fit the architecture, no such device.
            throw Failed(name, path, e.Message, known);
        }
    }

    // Students of a teacher rely on its input shape and outputs; a teacher that changes them is a new teacher.
    private static string? Mismatch(LoadedTeacher current, LoadedTeacher next)
    {
        if ((current.Language is null) != (next.Language is null))
            return $"the checkpoint holds a {Kind(next)} but teacher '{current.Name}' is a {Kind(current)}; load it under a new name instead.";
        if (current.Language is { } was && next.Language is { } now && was.Tokenizer.Digest != now.Tokenizer.Digest)
            return $"the checkpoint's tokenizer (digest {now.Tokenizer.Digest}) is not teacher '{current.Name}''s (digest {was.Tokenizer.Digest}), "
                   + "so its students' token ids would mean other text; load it under a new name instead.";
        if (current.ExampleShape.SequenceEqual(next.ExampleShape) && current.NumOutputs == next.NumOutputs) return null;
        return $"the checkpoint takes examples of shape [{string.Join(", ", next.ExampleShape)}] and gives {next.NumOutputs} outputs, "
               + $"but teacher '{current.Name}' takes [{string.Join(", ", current.ExampleShape)}] and gives {current.NumOutputs}; "
               + "load it under a new name instead.";
    }

    private static string Kind(LoadedTeacher teacher) => teacher.Language is null ? "classifier" : "language model";

    // The admin caller and the log get the whole reason; Describe shows callers without the admin key the same
    // reason with every path on this machine cut to its last name (LoadError.WithoutPaths).
    private CheckpointLoadException Failed(string name, string path, string reason, bool known)
    {
        var serving = known ? " The version serving before goes on serving." : "";
        var message = $"checkpoint '{path}' was not loaded as teacher '{name}': {reason}{serving}";
        if (known) registry.RecordLoadError(name, new LoadError(message, LoadError.WithoutPaths(message, path)));
        logger.CheckpointNotLoaded(name, path, message);
        return new CheckpointLoadException(message);
    }

    public void Dispose() => gate.Dispose();
}
