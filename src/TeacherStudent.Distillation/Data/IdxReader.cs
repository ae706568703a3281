using System.Buffers.Binary;
using System.IO.Compression;

namespace TeacherStudent.Distillation.Data;

/// <summary>
/// Reads unsigned-byte IDX files (the MNIST / Fashion-MNIST format), gzipped or plain:
/// a big-endian magic 0x0000_08_NN (NN = number of dimensions), NN big-endian int32 sizes,
/// then the bytes.
/// </summary>
public static class IdxReader
{
    /// <summary>An IDX array: its dimensions and its bytes, row-major.</summary>
    public sealed record IdxArray(int[] Dimensions, byte[] Data);

    /// <summary>Reads the file at <paramref name="path"/>; gzip is detected by its magic bytes.</summary>
    public static IdxArray Read(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> gzipMagic = stackalloc byte[2];
        bool gzipped = file.Read(gzipMagic) == 2 && gzipMagic[0] == 0x1f && gzipMagic[1] == 0x8b;
        file.Position = 0;
        using Stream stream = gzipped ? new GZipStream(file, CompressionMode.Decompress) : file;
        return Read(stream, path);
    }

    /// <summary>Reads an IDX array from a stream; <paramref name="name"/> names it in errors.</summary>
    public static IdxArray Read(Stream stream, string name)
    {
        Span<byte> header = stackalloc byte[4];
        ReadExactly(stream, header, name);
        if (header[0] != 0 || header[1] != 0)
            throw new InvalidDataException($"{name} is not an IDX file: it does not start with two zero bytes.");
        if (header[2] != 0x08)
            throw new InvalidDataException($"{name} holds IDX type 0x{header[2]:x2}; only unsigned bytes (0x08) are supported.");
        int rank = header[3];
        if (rank is < 1 or > 4)
            throw new InvalidDataException($"{name} declares {rank} dimensions; expected 1 to 4.");
        var dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            ReadExactly(stream, header, name);
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(header);
            if (dims[i] < 0) throw new InvalidDataException($"{name} declares a negative dimension.");
            count *= dims[i];
        }
        if (count > Array.MaxLength) throw new InvalidDataException($"{name} is too large to load.");
        var data = new byte[count];
        ReadExactly(stream, data, name);
        return new IdxArray(dims, data);
    }

    /// <summary>Writes an unsigned-byte IDX array (uncompressed); used to make small test files.</summary>
    public static void Write(Stream stream, int[] dimensions, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        stream.Write([0, 0, 0x08, (byte)dimensions.Length]);
        foreach (var d in dimensions)
        {
            BinaryPrimitives.WriteInt32BigEndian(word, d);
            stream.Write(word);
        }
        stream.Write(data);
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string name)
    {
        try { stream.ReadExactly(buffer); }
        catch (EndOfStreamException) { throw new InvalidDataException($"{name} ends before the data its header declares."); }
    }
}
