using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>How teachers get new versions while the service runs (configuration section "Registry").</summary>
public sealed class RegistryOptions
{
    public const string Section = "Registry";

    /// <summary>Folder watched for new checkpoints: a file &lt;teacher-name&gt;.ckpt, &lt;teacher-name&gt;.pt with &lt;teacher-name&gt;.json, or a Hugging Face model directory &lt;teacher-name&gt;/ created or replaced there becomes that teacher's new version; empty = no folder is watched.</summary>
    public string WatchDirectory { get; set; } = "";

    /// <summary>Quiet time after the last file event for a checkpoint (for a model directory, of any file in it) before it is loaded, in milliseconds (a writer's events come in bursts).</summary>
    [Range(0, 60_000)]
    public int WatchDebounceMilliseconds { get; set; } = 500;

    /// <summary>
    /// Folders the admin rpc LoadCheckpoint may load from (Registry:AllowedDirectories:0=..., and so on); a path outside
    /// them (after following links) is refused with PERMISSION_DENIED, saying nothing of what is on the disk. Empty = the
    /// folders of the configured checkpoints and the watched folder.
    /// </summary>
    public List<string> AllowedDirectories { get; set; } = [];

    /// <summary>True when a folder is watched.</summary>
    public bool Watches => !string.IsNullOrWhiteSpace(WatchDirectory);
}
