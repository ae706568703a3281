using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace TeacherStudent.Clients.Tests;

/// <summary>
/// numpy's .npy format (versions 1 and 2, C order, little-endian), as the Python and Node clients
/// save their results: enough to read them back here, and to hand token ids to them.
/// </summary>
public static partial class NpyFile
{
    /// <summary>The array's shape, its numpy dtype ('&lt;f4', '&lt;f2', '&lt;u2', '&lt;i4', ...) and its element bytes.</summary>
    public static (long[] Shape, string Dtype, byte[] Data) Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{path} is not a .npy file");
        int headerLength = bytes[6] == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)) : (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        int start = bytes[6] == 1 ? 10 : 12;
        var header = Encoding.Latin1.GetString(bytes, start, headerLength);
        if (header.Contains("'fortran_order': True", StringComparison.Ordinal)) throw new InvalidDataException($"{path} is in Fortran order");
        var dtype = Descr().Match(header).Groups[1].Value;
        var shape = ShapeText().Match(header).Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        return (shape, dtype, bytes[(start + headerLength)..]);
    }

    /// <summary>A float array (float32 or float16 in the file) and its shape.</summary>
    public static (long[] Shape, float[] Values) ReadFloats(string path)
    {
        var (shape, dtype, data) = Read(path);
        var values = dtype switch
        {
            "<f4" => Enumerable.Range(0, data.Length / 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(i * 4))).ToArray(),
            "<f2" => Enumerable.Range(0, data.Length / 2).Select(i => (float)BinaryPrimitives.ReadHalfLittleEndian(data.AsSpan(i * 2))).ToArray(),
            _ => throw new InvalidDataException($"{path} holds {dtype}, not float32 or float16"),
        };
        return (shape, values);
    }

    /// <summary>An integer array (uint8, uint16, int32 or int64 in the file) and its shape.</summary>
    public static (long[] Shape, long[] Values) ReadIntegers(string path)
    {
        var (shape, dtype, data) = Read(path);
        var values = dtype switch
        {
            "|u1" => data.Select(b => (long)b).ToArray(),
            "<u2" => Enumerable.Range(0, data.Length / 2).Select(i => (long)BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(i * 2))).ToArray(),
            "<i4" => Enumerable.Range(0, data.Length / 4).Select(i => (long)BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(i * 4))).ToArray(),
            "<i8" => Enumerable.Range(0, data.Length / 8).Select(i => BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(i * 8))).ToArray(),
            _ => throw new InvalidDataException($"{path} holds {dtype}, not an integer type"),
        };
        return (shape, values);
    }

    /// <summary>Writes int32 values of the given shape as a version 1.0 .npy file.</summary>
    public static void WriteInt32(string path, int[] values, params long[] shape)
    {
        var header = $"{{'descr': '<i4', 'fortran_order': False, 'shape': ({string.Join(", ", shape)}{(shape.Length == 1 ? "," : "")}), }}";
        // The data starts at a multiple of 64 bytes: magic, version, length, header padded with spaces and ending in \n.
        header = header.PadRight((10 + header.Length + 1 + 63) / 64 * 64 - 10 - 1) + "\n";
        using var file = File.Create(path);
        file.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
        file.Write(length);
        file.Write(Encoding.Latin1.GetBytes(header));
        var data = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(i * 4), values[i]);
        file.Write(data);
    }

    [GeneratedRegex(@"'descr':\s*'([^']+)'")]
    private static partial Regex Descr();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex ShapeText();
}
