using System.Threading.Channels;
using Microsoft.Extensions.Options;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Registry;

/// <summary>
/// Watches <see cref="RegistryOptions.WatchDirectory"/>: a file <c>&lt;teacher-name&gt;.ckpt</c>, a TorchScript
/// file <c>&lt;teacher-name&gt;.pt</c> with its sidecar <c>&lt;teacher-name&gt;.json</c>, or a Hugging Face model
/// directory <c>&lt;teacher-name&gt;/</c> (one holding <c>config.json</c>), created, written or renamed into place
/// there is loaded as that teacher's new version once its file events (for a directory: the events of every file
/// in it) have been quiet for <see cref="RegistryOptions.WatchDebounceMilliseconds"/>; a new sidecar reloads the
/// TorchScript file beside it. Names starting with a dot are a writer's temporary files or directories and are not looked at.
/// Only teachers the registry already holds are updated this way; a checkpoint for another name is
/// logged and ignored, so that a stray checkpoint never becomes a teacher (new teachers come
/// from configuration or the TeacherAdmin.LoadCheckpoint rpc). A checkpoint that fails to load leaves
/// the old version serving (see <see cref="TeacherLoader"/>).
/// </summary>
public sealed class CheckpointFolderWatcher(
    IOptions<RegistryOptions> options, TeacherRegistry registry, TeacherLoader loader, ILogger<CheckpointFolderWatcher> logger)
    : IHostedService, IDisposable
{
    /// <summary>The extension of checkpoints in the watched folder.</summary>
    public const string Extension = ".ckpt";

    /// <summary>The extension of TorchScript checkpoints in the watched folder.</summary>
    public const string TorchScriptExtension = ".pt";

    // A sidecar's events stand for the TorchScript file beside it.
    private const string SidecarExtension = ".json";

    private readonly CancellationTokenSource stopping = new();
    private FileSystemWatcher? watcher;
    private Task running = Task.CompletedTask;

    // Set up before StartAsync returns, so that no file written after the service is up is missed.
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.Watches) return Task.CompletedTask;
        var directory = Path.GetFullPath(settings.WatchDirectory);
        Directory.CreateDirectory(directory);

        var changes = Channel.CreateUnbounded<string>();
        void Changed(string path)
        {
            if (CheckpointOf(directory, path) is { } checkpoint) changes.Writer.TryWrite(checkpoint);
        }
        // Every name, and the files inside model directories: a directory's checkpoint is due once all of its files are quiet.
        watcher = new FileSystemWatcher(directory)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
        };
        watcher.Created += (_, e) => Changed(e.FullPath);
        watcher.Changed += (_, e) => Changed(e.FullPath);
        // Writers rename a finished temporary file (or directory) into place: this is the usual event.
        watcher.Renamed += (_, e) => Changed(e.FullPath);
        watcher.Error += (_, e) =>
        {
            logger.WatcherOverflowed(e.GetException().Message);
            foreach (var entry in Directory.EnumerateFileSystemEntries(directory)) Changed(entry);
        };
        watcher.EnableRaisingEvents = true;
        logger.WatchingFolder(directory, settings.WatchDebounceMilliseconds);
        running = RunAsync(changes.Reader, settings.WatchDebounceMilliseconds, stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (watcher is not null) watcher.EnableRaisingEvents = false;
        await stopping.CancelAsync();
        await running.WaitAsync(cancellationToken);
    }

    // A path becomes due debounceMs after its latest event; due paths are loaded one by one.
    private async Task RunAsync(ChannelReader<string> changes, int debounceMs, CancellationToken cancellationToken)
    {
        var due = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            while (true)
            {
                while (changes.TryRead(out var path)) due[path] = Environment.TickCount64 + debounceMs;
                if (due.Count == 0)
                {
                    await changes.WaitToReadAsync(cancellationToken);
                    continue;
                }
                var now = Environment.TickCount64;
                var ready = due.Where(d => d.Value <= now).Select(d => d.Key).ToList();
                foreach (var path in ready)
                {
                    due.Remove(path);
                    await LoadAsync(path, cancellationToken);
                }
                if (ready.Count == 0) await QuietAsync(changes, due.Values.Min() - now, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the host is stopping
        }
    }

    // Waits until the earliest path is due, or until another event arrives, whichever is first.
    private static async Task QuietAsync(ChannelReader<string> changes, long milliseconds, CancellationToken cancellationToken)
    {
        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        quiet.CancelAfter(TimeSpan.FromMilliseconds(milliseconds));
        try
        {
            await changes.WaitToReadAsync(quiet.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // quiet long enough
        }
    }

    /// <summary>
    /// The checkpoint a change at <paramref name="path"/> concerns: a <c>.ckpt</c> or <c>.pt</c> file directly in the folder (a sidecar's: its <c>.pt</c>), or
    /// the folder's subdirectory the path is in or under; null for anything else, and for names starting with a dot.
    /// </summary>
    private static string? CheckpointOf(string directory, string path)
    {
        var relative = Path.GetRelativePath(directory, path);
        if (relative == "." || Path.IsPathRooted(relative) || relative.StartsWith("..", StringComparison.Ordinal)) return null;
        var parts = relative.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts[0].StartsWith('.')) return null;
        var top = Path.Combine(directory, parts[0]);
        // A file directly in the folder counts only as a .ckpt, a .pt or a sidecar (for its .pt); a name without
        // an extension may be a model directory (created empty, filled later).
        if (parts.Length == 1 && (parts[0].EndsWith(Extension, StringComparison.Ordinal) || parts[0].EndsWith(TorchScriptExtension, StringComparison.Ordinal))) return top;
        if (parts.Length == 1 && parts[0].EndsWith(SidecarExtension, StringComparison.Ordinal)) return Path.ChangeExtension(top, TorchScriptExtension);
        return parts.Length > 1 || !File.Exists(top) ? top : null;
    }

    private async Task LoadAsync(string path, CancellationToken cancellationToken)
    {
        // A file checkpoint, or a complete-looking model directory; a directory without config.json yet is still being written.
        var isFile = (path.EndsWith(Extension, StringComparison.Ordinal) || path.EndsWith(TorchScriptExtension, StringComparison.Ordinal)) && File.Exists(path);
        if (!isFile && !HuggingFaceCheckpoint.IsModelDirectory(path)) return;
        var name = isFile ? Path.GetFileNameWithoutExtension(path) : Path.GetFileName(path);
        if (!registry.TryGet(name, out _))
        {
            logger.UnknownTeacherFile(name, path);
            return;
        }
        try
        {
            await loader.LoadAsync(name, path, newTeacher: null, cancellationToken);
        }
        catch (CheckpointLoadException)
        {
            // Logged, and shown by Describe as the teacher's last load error; the old version serves on.
        }
    }

    public void Dispose()
    {
        watcher?.Dispose();
        stopping.Dispose();
    }
}
