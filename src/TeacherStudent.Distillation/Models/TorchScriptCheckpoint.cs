using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// A PyTorch classifier as a checkpoint: a TorchScript file (<c>model.pt</c>, from
/// <c>torch.jit.save</c>) and its <see cref="ClassifierSidecar"/> beside it, the same name with
/// <c>.json</c> (<c>model.json</c>). Loading checks the pair by running the model once on zeros of
/// the sidecar's shape: it must give [B, classes] for the sidecar's classes. The version is a
/// digest of both files, so a changed normalisation or class list is a new version too.
/// </summary>
public static partial class TorchScriptCheckpoint
{
    /// <summary>Extensions taken for TorchScript files (beside any file that is a zip archive, as torch.jit.save writes).</summary>
    public static readonly IReadOnlyList<string> Extensions = [".pt", ".pth"];

    private static readonly byte[] ZipMagic = "PK\u0003\u0004"u8.ToArray();

    /// <summary>Examples in the forward that checks a model at load.</summary>
    private const int ProbeBatch = 2;

    /// <summary>
    /// Whether <paramref name="path"/> is meant as TorchScript: a zip archive (what torch.jit.save
    /// writes), or a file named .pt or .pth (which is refused at load if it is not TorchScript).
    /// </summary>
    public static bool IsTorchScript(string path)
    {
        if (Extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase)) return true;
        if (!File.Exists(path)) return false;
        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[4];
        return file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length && head.SequenceEqual(ZipMagic);
    }

    /// <summary>Where the sidecar of <paramref name="path"/> is: beside it, the same name with .json.</summary>
    public static string SidecarPath(string path) => Path.ChangeExtension(path, ".json");

    /// <summary>
    /// Reads the TorchScript file and its sidecar once and builds <paramref name="copies"/> models of
    /// those bytes on <paramref name="device"/>, in eval mode, with the version of exactly those bytes.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// the file is not TorchScript, the sidecar is missing or unusable, or the model does not take the
    /// sidecar's shape or give [B, classes]; the message names the file and what is wrong.
    /// </exception>
    public static (ClassifierSidecar Sidecar, ModelSpec Spec, IReadOnlyList<nn.Module<Tensor, Tensor>> Models, string Version) LoadCopies(
        string path, Device device, int copies)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(copies, 1);
        var bytes = File.ReadAllBytes(path);
        var sidecarPath = SidecarPath(path);
        var sidecarBytes = ClassifierSidecar.ReadBytes(sidecarPath);
        var sidecar = ClassifierSidecar.Parse(sidecarBytes, sidecarPath);
        var shape = sidecar.ExampleShape;
        var spec = new ModelSpec(TorchScriptClassifier.ArchitectureName, 0, (int)shape[0], (int)shape[1], (int)shape[2], sidecar.ClassNames!.Count);
        var models = new List<nn.Module<Tensor, Tensor>>(copies);
        try
        {
            for (int i = 0; i < copies; i++)
            {
                var model = new TorchScriptClassifier(ReadScript(path, bytes, device), sidecar, device);
                models.Add(model);
                model.eval();
            }
            Probe(path, sidecar, models[0], device);
            return (sidecar, spec, models, Digest(bytes, sidecarBytes));
        }
        catch
        {
            foreach (var model in models) model.Dispose(); // native memory would otherwise wait for the finalizer
            throw;
        }
    }

    /// <summary>The version of a TorchScript file and its sidecar: the first 16 hex digits of a SHA-256 over both.</summary>
    public static string Digest(byte[] script, byte[] sidecar)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(SHA256.HashData(script));
        hash.AppendData(SHA256.HashData(sidecar));
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    private static jit.ScriptModule ReadScript(string path, byte[] bytes, Device device)
    {
        try
        {
            return jit.load(bytes, device);
        }
        catch (ExternalException e)
        {
            throw new InvalidDataException($"{path} is not a TorchScript file (torch.jit.save of a traced or scripted module): libtorch says \"{Essence(e.Message)}\".", e);
        }
    }

    // One forward on zeros: a model that cannot take the sidecar's shape, or gives anything but
    // [B, classes], is refused now rather than on a student's first batch.
    private static void Probe(string path, ClassifierSidecar sidecar, nn.Module<Tensor, Tensor> model, Device device)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var shape = sidecar.ExampleShape;
        var input = zeros([ProbeBatch, .. shape], ScalarType.Float32, device);
        Tensor output;
        try
        {
            output = model.forward(input);
        }
        catch (ExternalException e)
        {
            throw new InvalidDataException($"{path} does not take examples of the sidecar's shape [{string.Join(", ", shape)}] "
                                           + $"(a batch [B, {string.Join(", ", shape)}] float32): libtorch says \"{Essence(e.Message)}\".", e);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path} does not give logits: {e.Message}", e);
        }
        int classes = sidecar.ClassNames!.Count;
        if (!output.is_floating_point())
            throw new InvalidDataException($"{path} gives {output.dtype} outputs, not floating-point logits.");
        if (output.dim() != 2 || output.shape[0] != ProbeBatch || output.shape[1] != classes)
            throw new InvalidDataException($"{path} gives outputs of shape [{string.Join(", ", output.shape)}] for a batch of {ProbeBatch}, "
                                           + $"but its sidecar names {classes} classes: the output must be [B, {classes}].");
    }

    // libtorch's messages go on with a C++ or TorchScript stack trace. The TorchScript interpreter's
    // say what went wrong on their last "SomethingError: ..." line; the others, on their first line.
    private static string Essence(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var error = lines.LastOrDefault(l => ErrorLine().IsMatch(l));
        return error is not null ? ErrorLine().Match(error).Groups[1].Value : lines.FirstOrDefault() ?? "";
    }

    [GeneratedRegex(@"^[A-Za-z]*Error: (.+)$")]
    private static partial Regex ErrorLine();
}
