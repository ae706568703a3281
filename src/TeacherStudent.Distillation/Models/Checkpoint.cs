using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// A model checkpoint file: a magic line, the <see cref="ModelSpec"/> as JSON, then the
/// TorchSharp state dict. The spec travels with the weights, so a teacher service can load
/// any checkpoint by its path alone. Written to a temporary file and renamed, so a reader
/// never sees half a checkpoint.
/// </summary>
public static class Checkpoint
{
    private const string Magic = "TeacherStudent checkpoint v1\n";

    /// <summary>Writes <paramref name="model"/> with its spec to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, ModelSpec spec, nn.Module model)
    {
        WriteAtomically(path, writer => Write(writer, spec, model));
    }

    /// <summary>Writes the spec and the weights of a model into an open writer.</summary>
    public static void Write(BinaryWriter writer, ModelSpec spec, nn.Module model)
    {
        writer.Write(Encoding.ASCII.GetBytes(Magic));
        writer.Write(JsonSerializer.Serialize(spec));
        model.save(writer);
    }

    /// <summary>Reads a checkpoint and rebuilds its model on <paramref name="device"/>, in eval mode.</summary>
    public static (ModelSpec Spec, nn.Module<Tensor, Tensor> Model) Load(string path, Device device)
    {
        var (spec, model, _) = LoadVersioned(path, device);
        return (spec, model);
    }

    /// <summary>
    /// Reads a checkpoint once and returns its model (on <paramref name="device"/>, in eval mode)
    /// with the version of exactly those bytes, even if the file is replaced meanwhile.
    /// </summary>
    public static (ModelSpec Spec, nn.Module<Tensor, Tensor> Model, string Version) LoadVersioned(string path, Device device)
    {
        var (spec, models, version) = LoadCopies(path, device, 1);
        return (spec, models[0], version);
    }

    /// <summary>
    /// Reads a checkpoint once and builds <paramref name="copies"/> separate models from those
    /// same bytes (on <paramref name="device"/>, in eval mode), with their one version: copies
    /// that can run forwards at the same time, never of two different files.
    /// </summary>
    public static (ModelSpec Spec, IReadOnlyList<nn.Module<Tensor, Tensor>> Models, string Version) LoadCopies(string path, Device device, int copies)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(copies, 1);
        var bytes = File.ReadAllBytes(path);
        var models = new List<nn.Module<Tensor, Tensor>>(copies);
        try
        {
            ModelSpec? spec = null;
            for (int i = 0; i < copies; i++)
            {
                using var reader = new BinaryReader(new MemoryStream(bytes, writable: false));
                (spec, var model) = Read(reader);
                models.Add(model);
                model.to(device).eval();
            }
            return (spec!, models, Digest(bytes));
        }
        catch (Exception e)
        {
            foreach (var model in models) model.Dispose(); // native memory would otherwise wait for the finalizer
            if (e is InvalidDataException or EndOfStreamException or JsonException or ArgumentException or InvalidOperationException)
                throw new InvalidDataException($"{path} is not a readable TeacherStudent checkpoint: {e.Message}", e);
            throw;
        }
    }

    /// <summary>Reads a spec and weights written by <see cref="Write"/>.</summary>
    public static (ModelSpec Spec, nn.Module<Tensor, Tensor> Model) Read(BinaryReader reader)
    {
        var magic = Encoding.ASCII.GetString(reader.ReadBytes(Magic.Length));
        if (magic != Magic) throw new InvalidDataException("it does not start with the TeacherStudent checkpoint header.");
        var spec = JsonSerializer.Deserialize<ModelSpec>(reader.ReadString())
                   ?? throw new InvalidDataException("its model spec is empty.");
        var model = spec.Create();
        try
        {
            model.load(reader);
        }
        catch
        {
            model.Dispose(); // its native memory would otherwise wait for the finalizer
            throw;
        }
        return (spec, model);
    }

    /// <summary>
    /// The version of a checkpoint: the first 16 hex digits of the SHA-256 of its bytes.
    /// Any change to the weights changes it.
    /// </summary>
    public static string Digest(string path) => Digest(File.ReadAllBytes(path));

    /// <summary>The version of checkpoint bytes already read: see <see cref="Digest(string)"/>.</summary>
    public static string Digest(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];

    /// <summary>Writes through <paramref name="write"/> into a temporary file, then renames it over <paramref name="path"/>.</summary>
    public static void WriteAtomically(string path, Action<BinaryWriter> write)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        using (var writer = new BinaryWriter(stream))
        {
            write(writer);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
