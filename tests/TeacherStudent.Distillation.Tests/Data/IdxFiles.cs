using System.IO.Compression;

namespace TeacherStudent.Distillation.Tests.Data;

/// <summary>IDX files written byte by byte, as the format describes them, plain or gzipped.</summary>
internal static class IdxFiles
{
    /// <summary>Magic 00 00 08 rank, big-endian int32 sizes, then the bytes.</summary>
    public static byte[] UnsignedBytes(int[] dimensions, byte[] data)
    {
        var bytes = new List<byte> { 0, 0, 0x08, (byte)dimensions.Length };
        foreach (var d in dimensions)
            bytes.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    public static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
            gzip.Write(bytes);
        return output.ToArray();
    }
}
