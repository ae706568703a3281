using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// Writes tensors as a safetensors file (Hugging Face's format, what <c>safetensors.torch.load_file</c>
/// reads): an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and
/// byte range (with <c>"__metadata__": {"format": "pt"}</c>, which marks PyTorch tensors), then the
/// tensors' bytes, row-major and little-endian. The header is padded with spaces to a multiple of 8 bytes,
/// as the reference writer does, so that the data is aligned. Written to a temporary file and renamed,
/// so that a longer file of the same name never leaves its tail behind and a reader never sees half.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>The metadata every file carries: the tensors are PyTorch's.</summary>
    public static readonly IReadOnlyDictionary<string, string> PyTorchMetadata = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>Writes <paramref name="tensors"/> (any device, any layout) to <paramref name="path"/>, in the given order.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        if (list.Select(t => t.Key).Distinct(StringComparer.Ordinal).Count() != list.Count)
            throw new ArgumentException("two tensors have the same name.", nameof(tensors));
        Checkpoint.WriteAtomically(path, writer => Write(writer, list, metadata ?? PyTorchMetadata));
    }

    private static void Write(BinaryWriter writer, List<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var header = Header(tensors, metadata);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        writer.Write(length);
        writer.Write(header);
        foreach (var (_, tensor) in tensors)
        {
            using var scope = NewDisposeScope();
            // The storage is little-endian on every platform TorchSharp ships for.
            writer.Write(tensor.detach().cpu().contiguous().bytes);
        }
    }

    // The JSON header, padded with spaces so that 8 + its length is a multiple of 8.
    private static byte[] Header(List<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            foreach (var (key, value) in metadata) json.WriteString(key, value);
            json.WriteEndObject();
            long offset = 0;
            foreach (var (name, tensor) in tensors)
            {
                long bytes = tensor.NumberOfElements * tensor.ElementSize;
                json.WriteStartObject(name);
                json.WriteString("dtype", DType(tensor.dtype));
                json.WriteStartArray("shape");
                foreach (var size in tensor.shape) json.WriteNumberValue(size);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        int padding = (int)((8 - buffer.Length % 8) % 8);
        buffer.Write(Encoding.ASCII.GetBytes(new string(' ', padding)));
        return buffer.ToArray();
    }

    /// <summary>The safetensors name of a dtype.</summary>
    public static string DType(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new ArgumentException($"safetensors has no dtype for {dtype}.", nameof(dtype)),
    };
}
