using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// A project classifier (ConvNet or MLP) written for PyTorch: its state dict as
/// <c>model.safetensors</c>, under the names PyTorch's own modules of the same layout use
/// (<c>layers.1.weight</c>, <c>features.1.running_mean</c>, ...), and its
/// <see cref="ClassifierSidecar"/> as <c>model.json</c>, with the architecture and width that
/// rebuild it (docs/bring-your-own-model.md has the PyTorch module definitions).
/// </summary>
public static class ClassifierExport
{
    /// <summary>The weights' file name in a run directory.</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>The sidecar's file name in a run directory.</summary>
    public const string SidecarFileName = "model.json";

    /// <summary>Writes <paramref name="model"/> of <paramref name="spec"/> into <paramref name="directory"/> (each file atomically).</summary>
    public static void Save(string directory, ModelSpec spec, nn.Module model, IReadOnlyList<string> classNames)
    {
        var sidecar = ClassifierSidecar.For(spec, classNames);
        SafetensorsWriter.Write(Path.Combine(directory, WeightsFileName), model.state_dict());
        sidecar.Write(Path.Combine(directory, SidecarFileName));
    }
}
