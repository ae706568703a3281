using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// A classifier written by PyTorch (<c>torch.jit.save</c> of a traced or scripted module) with the
/// pixel normalisation of its <see cref="ClassifierSidecar"/> in front: it takes raw pixels, as
/// every model here does (bytes 0..255 or floats in 0..1), and gives float32 logits [B, classes].
/// One instance runs one forward at a time, like any TorchSharp module.
/// </summary>
public sealed class TorchScriptClassifier : nn.Module<Tensor, Tensor>
{
    /// <summary>The architecture Describe reports for such a model.</summary>
    public const string ArchitectureName = "torchscript";

    private readonly jit.ScriptModule script;
    // [channels, 1, 1] on the model's device, or null when the sidecar has no normalization.
    private readonly Tensor? mean;
    private readonly Tensor? std;

    /// <summary>Wraps <paramref name="script"/> (already on <paramref name="device"/>), which it then owns.</summary>
    public TorchScriptClassifier(jit.ScriptModule script, ClassifierSidecar sidecar, Device device) : base(ArchitectureName)
    {
        this.script = script;
        if (sidecar.Normalization is { Mean: { } m, Std: { } s })
        {
            int channels = (int)sidecar.ExampleShape[0];
            mean = PerChannel(m, channels, device);
            std = PerChannel(s, channels, device);
        }
    }

    /// <summary>Logits [B, classes] of pixels [B, channels, height, width].</summary>
    /// <exception cref="InvalidDataException">the model's forward does not return one tensor.</exception>
    public override Tensor forward(Tensor pixels)
    {
        var x = PixelNormalization.ToUnitRange(pixels);
        if (mean is not null) x = x.sub_(mean).div_(std!);
        var output = script.forward(x);
        if (output is not Tensor logits)
            throw new InvalidDataException($"its forward returns {Describe(output)}, not one tensor of logits [B, classes].");
        // float64 or half logits become float32, as every teacher gives; anything else is the loader's to refuse.
        return logits.dtype == ScalarType.Float32 || !logits.is_floating_point() ? logits : logits.to(ScalarType.Float32);
    }

    public override void train(bool on = true)
    {
        base.train(on);
        script.train(on);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            script.Dispose();
            mean?.Dispose();
            std?.Dispose();
        }
        base.Dispose(disposing);
    }

    private static Tensor PerChannel(IReadOnlyList<double> values, int channels, Device device)
    {
        var perChannel = values.Count == 1 ? Enumerable.Repeat((float)values[0], channels).ToArray() : values.Select(v => (float)v).ToArray();
        // Kept for the model's life, outside whatever dispose scope built it.
        using var cpu = tensor(perChannel).reshape(channels, 1, 1);
        return cpu.to(device, copy: true).DetachFromDisposeScope();
    }

    private static string Describe(object? output) => output switch
    {
        null => "nothing",
        Tensor[] list => $"a list of {list.Length} tensors",
        object[] list => $"a list of {list.Length} values",
        System.Runtime.CompilerServices.ITuple tuple => $"a tuple of {tuple.Length}",
        _ => $"a {output.GetType().Name}",
    };
}
