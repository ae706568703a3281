using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Registry;

/// <summary>
/// The folders the admin rpc LoadCheckpoint may load from: <see cref="RegistryOptions.AllowedDirectories"/>, or when
/// none is given the folders of the configured checkpoints and the watched folder. A path is inside one when, with
/// "..", "." and every symbolic link on the way resolved, it is the folder or under it; so a link placed in an
/// allowed folder does not lead out of it.
/// </summary>
public sealed class AllowedCheckpointFolders
{
    private readonly string[] folders;

    public AllowedCheckpointFolders(IOptions<RegistryOptions> registry, IOptions<TeachersOptions> teachers)
    {
        var configured = registry.Value.AllowedDirectories.Where(f => !string.IsNullOrWhiteSpace(f)).ToArray();
        IEnumerable<string> chosen = configured.Length > 0 ? configured : Defaults(registry.Value, teachers.Value);
        folders = chosen.Select(RealPath.Of).Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>
    /// Whether <paramref name="path"/> (relative to the service's working directory, or absolute) lies in an allowed
    /// folder, and its real path, which is what must be loaded (the path as given may mean another file to the
    /// kernel, which resolves ".." after links).
    /// </summary>
    public bool TryResolve(string path, out string real)
    {
        try
        {
            real = RealPath.Of(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            real = "";
            return false;
        }
        var resolved = real;
        return folders.Any(folder => resolved == folder || resolved.StartsWith(folder.EndsWith('/') ? folder : folder + "/", StringComparison.Ordinal));
    }

    // The folder holding each configured checkpoint (a file, or a model directory), and the watched folder.
    private static IEnumerable<string> Defaults(RegistryOptions registry, TeachersOptions teachers)
    {
        foreach (var (_, teacher) in teachers.All)
            if (Path.GetDirectoryName(Path.GetFullPath(teacher.Checkpoint.TrimEnd('/'))) is { } folder)
                yield return folder;
        if (registry.Watches) yield return registry.WatchDirectory;
    }
}

/// <summary>A path with "..", "." and every symbolic link resolved, as far as it exists (the rest is kept as written).</summary>
public static class RealPath
{
    // More links than this on one path is a loop (Linux's own limit is 40).
    private const int MaxLinks = 40;

    /// <summary>The real path of <paramref name="path"/>.</summary>
    /// <exception cref="IOException">the path holds a loop of links.</exception>
    public static string Of(string path)
    {
        var links = 0;
        return Resolve(Path.GetFullPath(path), ref links);
    }

    private static string Resolve(string full, ref int links)
    {
        var root = Path.GetPathRoot(full) ?? "/";
        var current = root;
        var parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo info = new FileInfo(next);
            if (info.LinkTarget is null)
            {
                current = next;
                continue;
            }
            if (++links > MaxLinks) throw new IOException($"too many symbolic links on the way to {full}");
            // A relative target is relative to the link's folder; the rest of the path follows the target.
            var target = Path.GetFullPath(info.LinkTarget, current);
            var rest = string.Join(Path.DirectorySeparatorChar, parts[(i + 1)..]);
            return Resolve(rest.Length > 0 ? Path.Combine(target, rest) : target, ref links);
        }
        return current;
    }
}
