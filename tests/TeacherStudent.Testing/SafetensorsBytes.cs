using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace TeacherStudent.Testing;

/// <summary>
/// A safetensors file as bytes, for tests that damage one on purpose: its tensors in file order, each with
/// the dtype, shape and bytes its header gives, edited in place and written back by hand. Written from the
/// format's description (8 bytes of little-endian header length, a JSON header, the data), sharing no code
/// with the project's reader, so that a test can write what that reader must refuse.
/// </summary>
public sealed class SafetensorsBytes
{
    /// <summary>One tensor: <see cref="Offsets"/>, when set, is written instead of where its bytes really are.</summary>
    public sealed class Entry(string name, string dtype, long[] shape, byte[] bytes)
    {
        public string Name { get; set; } = name;
        public string DType { get; set; } = dtype;
        public long[] Shape { get; set; } = shape;
        public byte[] Bytes { get; set; } = bytes;
        public long[]? Offsets { get; set; }
    }

    /// <summary>The tensors, in the order their bytes are written.</summary>
    public List<Entry> Tensors { get; } = [];

    /// <summary>The header's "__metadata__", if any.</summary>
    public JsonObject? Metadata { get; set; }

    /// <summary>The tensor named <paramref name="name"/>.</summary>
    public Entry this[string name] => Tensors.Single(t => t.Name == name);

    /// <summary>Reads <paramref name="path"/>.</summary>
    public static SafetensorsBytes Read(string path)
    {
        var file = File.ReadAllBytes(path);
        var length = checked((int)BinaryPrimitives.ReadInt64LittleEndian(file));
        var header = JsonNode.Parse(file.AsSpan(8, length))!.AsObject();
        var data = file.AsMemory(8 + length);
        var read = new SafetensorsBytes { Metadata = header["__metadata__"]?.DeepClone().AsObject() };
        var tensors = header.Where(p => p.Key != "__metadata__")
            .Select(p => (p.Key, Node: p.Value!.AsObject(), Start: (long)p.Value!["data_offsets"]![0]!))
            .OrderBy(t => t.Start);
        foreach (var (name, node, start) in tensors)
        {
            var end = (long)node["data_offsets"]![1]!;
            var shape = node["shape"]!.AsArray().Select(d => (long)d!).ToArray();
            read.Tensors.Add(new Entry(name, (string)node["dtype"]!, shape, data.Slice((int)start, (int)(end - start)).ToArray()));
        }
        return read;
    }

    /// <summary>Writes the tensors back to back (or at their given offsets) after a header padded to 8 bytes.</summary>
    public void Write(string path)
    {
        var header = new JsonObject();
        if (Metadata is not null) header["__metadata__"] = Metadata.DeepClone();
        long offset = 0;
        foreach (var tensor in Tensors)
        {
            var offsets = tensor.Offsets ?? [offset, offset + tensor.Bytes.Length];
            header[tensor.Name] = new JsonObject
            {
                ["dtype"] = tensor.DType,
                ["shape"] = new JsonArray(tensor.Shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offsets.Select(d => (JsonNode)d).ToArray()),
            };
            offset += tensor.Bytes.Length;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = json.Concat(Enumerable.Repeat((byte)' ', (8 - json.Length % 8) % 8)).ToArray();
        using var stream = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(length, padded.Length);
        stream.Write(length);
        stream.Write(padded);
        foreach (var tensor in Tensors) stream.Write(tensor.Bytes);
    }

    /// <summary>Reads <paramref name="path"/>, lets <paramref name="edit"/> change it, and writes it back.</summary>
    public static void Edit(string path, Action<SafetensorsBytes> edit)
    {
        var file = Read(path);
        edit(file);
        file.Write(path);
    }
}
