using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>One tensor in a safetensors file: its name, dtype, shape and where its bytes are.</summary>
internal sealed record TensorEntry(string File, string Name, ScalarType DType, long[] Shape, long Start, long End)
{
    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// The safetensors format: 8 bytes of little-endian header length, a JSON header (name -> dtype,
/// shape, data_offsets; and "__metadata__"), then the tensors' little-endian bytes. The header is read
/// and checked here so that a refusal can name the file and the tensor (the bytes are read by
/// <see cref="HuggingFaceCheckpoint"/>, as it versions them); files are written by <see cref="SafetensorsWriter"/>,
/// with the {"format": "pt"} metadata transformers looks for, which TorchSharp.PyBridge's writer leaves out.
/// </summary>
internal static class SafetensorsFile
{
    private const long MaxHeader = 100 << 20; // the format's own limit

    public static IEnumerable<TensorEntry> ReadHeader(string file)
    {
        using var stream = File.OpenRead(file);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw new InvalidDataException($"{file} is too short to be a safetensors file.");
        var length = BitConverter.ToInt64(lengthBytes);
        if (length <= 0 || length > MaxHeader || 8 + length > stream.Length)
            throw new InvalidDataException($"{file} is not a safetensors file (its header length {length} makes no sense).");
        var header = new byte[length];
        stream.ReadExactly(header);
        JsonObject json;
        try
        {
            json = JsonNode.Parse(header) as JsonObject ?? throw new InvalidDataException($"{file}'s safetensors header is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}'s safetensors header is not valid JSON: {e.Message}", e);
        }
        long dataLength = stream.Length - 8 - length;
        var entries = new List<TensorEntry>();
        foreach (var (name, node) in json)
        {
            if (name == "__metadata__") continue;
            try
            {
                entries.Add(Entry(file, name, node, dataLength));
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
            {
                // A value of the wrong JSON kind (a shape holding a string, an entry that is no object).
                throw new InvalidDataException($"{file}: tensor {name}'s header entry is malformed (dtype must be a string, shape and data_offsets lists of integers).", e);
            }
        }
        return entries;
    }

    private static TensorEntry Entry(string file, string name, JsonNode? node, long dataLength)
    {
        var dtypeName = (string?)node?["dtype"];
        var dtype = dtypeName switch
        {
            "F32" => ScalarType.Float32,
            "BF16" => ScalarType.BFloat16,
            "F16" => ScalarType.Float16,
            _ => throw new InvalidDataException($"{file}: tensor {name} has dtype {dtypeName ?? "(none)"}; only F32, BF16 and F16 weights are read."),
        };
        var shape = (node?["shape"] as JsonArray)?.Select(d => (long)d!).ToArray()
                    ?? throw new InvalidDataException($"{file}: tensor {name} has no shape.");
        var offsets = (node?["data_offsets"] as JsonArray)?.Select(d => (long)d!).ToArray();
        if (offsets is not [var start, var end] || start < 0 || end < start || end > dataLength)
            throw new InvalidDataException($"{file}: tensor {name}'s data_offsets lie outside the file.");
        var entry = new TensorEntry(file, name, dtype, shape, start, end);
        long bytes = entry.Elements * (dtype == ScalarType.Float32 ? 4 : 2);
        if (end - start != bytes)
            throw new InvalidDataException($"{file}: tensor {name} holds {end - start} bytes, but {dtypeName} [{string.Join(", ", shape)}] needs {bytes}.");
        return entry;
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> (name, tensor; any device) to <paramref name="file"/> in
    /// <paramref name="dtype"/>, atomically (through <see cref="SafetensorsWriter"/>).
    /// </summary>
    public static void Write(string file, IReadOnlyList<(string Name, Tensor Tensor)> tensors, ScalarType dtype)
    {
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"weights are written as float32, bfloat16 or float16, not {dtype}.");
        using var scope = NewDisposeScope();
        SafetensorsWriter.Write(file, tensors.Select(t => KeyValuePair.Create(t.Name, t.Tensor.detach().to(dtype))).ToList());
    }
}
