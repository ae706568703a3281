using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Auth;

/// <summary>
/// Reads the key files (<see cref="AuthOptions.ApiKeysFile"/>, <see cref="AuthOptions.AdminKeyFile"/>) again every
/// <see cref="AuthOptions.KeyFilesCheckMilliseconds"/>, and at once when a file watcher sees their folder change, so
/// that keys rotate without a restart. A Kubernetes Secret mounted as a volume is updated by swapping a link, which
/// some file systems do not report: the periodic read is what guarantees the change is seen.
/// </summary>
public sealed class KeyFileWatcher(CallerKeys keys, IOptions<AuthOptions> options, ILogger<KeyFileWatcher> logger) : BackgroundService
{
    // A writer's events come in bursts (truncate, write, close): the read waits this long after the first.
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(50);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var files = new[] { settings.ApiKeysFile, settings.AdminKeyFile }.Where(f => f.Length > 0).ToArray();
        if (files.Length == 0) return;
        using var wake = new SemaphoreSlim(0);
        var watchers = Watch(files, wake);
        try
        {
            string? lastProblem = null;
            var period = TimeSpan.FromMilliseconds(settings.KeyFilesCheckMilliseconds);
            while (!stoppingToken.IsCancellationRequested)
            {
                if (await wake.WaitAsync(period, stoppingToken)) await Task.Delay(Settle, stoppingToken);
                while (wake.CurrentCount > 0) await wake.WaitAsync(stoppingToken); // one read for a burst of events
                var reload = keys.Reload();
                if (reload.Problem is not null)
                {
                    if (reload.Problem != lastProblem) logger.KeyFilesNotTaken(reload.Problem);
                    lastProblem = reload.Problem;
                    continue;
                }
                lastProblem = null;
                if (reload.Changed) logger.KeysReloaded(reload.Added, reload.Removed, reload.AdminKeyChanged);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var watcher in watchers) watcher.Dispose();
        }
    }

    // One watcher per folder holding a key file; a folder that cannot be watched is left to the periodic read.
    private List<FileSystemWatcher> Watch(IEnumerable<string> files, SemaphoreSlim wake)
    {
        var watchers = new List<FileSystemWatcher>();
        foreach (var folder in files.Select(f => Path.GetDirectoryName(Path.GetFullPath(f))!).Distinct(StringComparer.Ordinal))
        {
            try
            {
                var watcher = new FileSystemWatcher(folder)
                {
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
                };
                FileSystemEventHandler changed = (_, _) => wake.Release();
                watcher.Changed += changed;
                watcher.Created += changed;
                watcher.Deleted += changed;
                watcher.Renamed += (_, _) => wake.Release();
                watcher.EnableRaisingEvents = true;
                watchers.Add(watcher);
            }
            catch (Exception e) when (e is ArgumentException or IOException or PlatformNotSupportedException)
            {
                logger.KeyFolderNotWatched(folder, e.Message);
            }
        }
        return watchers;
    }
}
