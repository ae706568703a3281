using System.Threading.Channels;
using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Registry;

/// <summary>
/// Watches <see cref="RegistryOptions.WatchDirectory"/>: a file <c>&lt;teacher-name&gt;.ckpt</c>, or a
/// TorchScript file <c>&lt;teacher-name&gt;.pt</c> with its sidecar <c>&lt;teacher-name&gt;.json</c>,
/// created, written or renamed into place there is loaded as that teacher's new version once its
/// file events have been quiet for <see cref="RegistryOptions.WatchDebounceMilliseconds"/>; a new
/// sidecar reloads the TorchScript file beside it.
/// Only teachers the registry already holds are updated this way; a file for another name is
/// logged and ignored, so that a stray checkpoint never becomes a teacher (new teachers come
/// from configuration or the TeacherAdmin.LoadCheckpoint rpc). A file that fails to load leaves
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

    private static readonly string[] Patterns = ["*" + Extension, "*" + TorchScriptExtension, "*" + SidecarExtension];

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
        watcher = new FileSystemWatcher(directory)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
        };
        foreach (var pattern in Patterns) watcher.Filters.Add(pattern);
        watcher.Created += (_, e) => changes.Writer.TryWrite(e.FullPath);
        watcher.Changed += (_, e) => changes.Writer.TryWrite(e.FullPath);
        // Writers rename a finished temporary file into place: this is the usual event.
        watcher.Renamed += (_, e) => changes.Writer.TryWrite(e.FullPath);
        watcher.Error += (_, e) =>
        {
            logger.WatcherOverflowed(e.GetException().Message);
            foreach (var file in Patterns.SelectMany(p => Directory.EnumerateFiles(directory, p))) changes.Writer.TryWrite(file);
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
                while (changes.TryRead(out var path)) due[CheckpointOf(path)] = Environment.TickCount64 + debounceMs;
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

    // The checkpoint a changed file belongs to: a sidecar's is the TorchScript file of the same name.
    private static string CheckpointOf(string path) =>
        path.EndsWith(SidecarExtension, StringComparison.Ordinal) ? Path.ChangeExtension(path, TorchScriptExtension) : path;

    private async Task LoadAsync(string path, CancellationToken cancellationToken)
    {
        if (!(path.EndsWith(Extension, StringComparison.Ordinal) || path.EndsWith(TorchScriptExtension, StringComparison.Ordinal)) || !File.Exists(path)) return;
        var name = Path.GetFileNameWithoutExtension(path);
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
