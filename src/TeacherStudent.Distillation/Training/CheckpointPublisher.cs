using TeacherStudent.Distillation.Models;

namespace TeacherStudent.Distillation.Training;

/// <summary>
/// Hands a run's checkpoint to a teacher service that watches a folder, so that a teacher that
/// keeps learning is served anew after every epoch: the checkpoint is copied to a temporary file
/// in that folder (a hidden name ending in <c>.tmp</c>) and renamed over <c>NAME.ckpt</c>, so
/// the watcher only ever sees a whole file.
/// </summary>
public sealed class CheckpointPublisher(string directory, string name)
{
    /// <summary>Where the checkpoint is published: <c>directory/name.ckpt</c>.</summary>
    public string PublishedPath { get; } = Path.Combine(directory, name + ".ckpt");

    /// <summary>Copies <paramref name="checkpoint"/> to <see cref="PublishedPath"/> atomically.</summary>
    public void Publish(string checkpoint) => Checkpoint.WriteAtomically(PublishedPath, writer =>
    {
        using var source = File.OpenRead(checkpoint);
        writer.Flush();
        source.CopyTo(writer.BaseStream);
    });
}
