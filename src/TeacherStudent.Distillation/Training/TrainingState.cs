using System.Text.Json;
using TeacherStudent.Distillation.Models;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Training;

/// <summary>
/// Where a run stands after an epoch: settings, epochs done, metrics so far, which stored
/// targets it learns from, and the model and optimiser state. Written atomically at the end of
/// every epoch, so a run killed at any moment resumes from its last completed epoch.
/// </summary>
public sealed record TrainingState(TrainingSettings Settings, int EpochsDone, IReadOnlyList<EpochMetrics> History, TargetStoreKey? Targets)
{
    public const string FileName = "state.bin";

    /// <summary>Saves this state with the weights and optimiser moments.</summary>
    public void Save(string path, ModelSpec spec, nn.Module model, HeldScalarAdamW optimizer) =>
        Checkpoint.WriteAtomically(path, writer =>
        {
            writer.Write(JsonSerializer.Serialize(this));
            Checkpoint.Write(writer, spec, model);
            optimizer.Save(writer);
        });

    /// <summary>
    /// Loads a saved state into <paramref name="model"/> and <paramref name="optimizer"/>; null when
    /// there is no state file yet. A state saved with other settings is refused before anything is loaded.
    /// </summary>
    public static TrainingState? Load(string path, TrainingSettings settings, nn.Module model, HeldScalarAdamW optimizer)
    {
        if (!File.Exists(path)) return null;
        using var reader = new BinaryReader(File.OpenRead(path));
        var state = JsonSerializer.Deserialize<TrainingState>(reader.ReadString())
                    ?? throw new InvalidDataException($"{path} holds no training state.");
        if (state.Settings != settings)
            throw new ArgumentException(
                $"{Path.GetDirectoryName(path)} holds a run with other settings ({state.Settings}); use another run directory or the same settings.");
        var (_, saved) = Checkpoint.Read(reader);
        using (no_grad())
        {
            var source = saved.state_dict();
            foreach (var (name, target) in model.state_dict())
                target.copy_(source[name]);
        }
        saved.Dispose();
        optimizer.Load(reader);
        return state;
    }
}
