using TeacherStudent.Distillation.Data;

namespace TeacherStudent.Distillation.Tests.Data;

public sealed class IdxReaderTests : IDisposable
{
    private readonly TemporaryDirectory directory = new();

    // Two images of 2 x 3 pixels.
    private static readonly byte[] Pixels = [1, 2, 3, 4, 5, 6, 250, 251, 252, 253, 254, 255];

    [Fact]
    public void APlainFileReadsBackItsDimensionsAndBytes()
    {
        var path = Write("plain-idx3-ubyte", IdxFiles.UnsignedBytes([2, 2, 3], Pixels));

        var array = IdxReader.Read(path);

        Assert.Equal(new[] { 2, 2, 3 }, array.Dimensions);
        Assert.Equal(Pixels, array.Data);
    }

    [Fact]
    public void AGzippedFileReadsBackTheSameAsAPlainOne()
    {
        var path = Write("zipped-idx3-ubyte.gz", IdxFiles.Gzip(IdxFiles.UnsignedBytes([2, 2, 3], Pixels)));

        var array = IdxReader.Read(path);

        Assert.Equal(new[] { 2, 2, 3 }, array.Dimensions);
        Assert.Equal(Pixels, array.Data);
    }

    [Fact]
    public void DimensionsAreReadBigEndian()
    {
        // 300 = 0x0000012C: a little-endian reader would see 0x2C010000.
        var labels = Enumerable.Range(0, 300).Select(i => (byte)(i % 10)).ToArray();
        var path = Write("labels-idx1-ubyte", IdxFiles.UnsignedBytes([300], labels));

        var array = IdxReader.Read(path);

        Assert.Equal(new[] { 300 }, array.Dimensions);
        Assert.Equal(labels, array.Data);
    }

    [Fact]
    public void WriteProducesTheBytesTheFormatDescribes()
    {
        using var stream = new MemoryStream();

        IdxReader.Write(stream, [2, 2, 3], Pixels);

        Assert.Equal(IdxFiles.UnsignedBytes([2, 2, 3], Pixels), stream.ToArray());
    }

    [Fact]
    public void AFileShorterThanItsHeaderDeclaresIsInvalidData()
    {
        var path = Write("short-idx3-ubyte", IdxFiles.UnsignedBytes([2, 2, 3], Pixels[..11]));

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path));

        Assert.Equal($"{path} ends before the data its header declares.", error.Message);
    }

    [Fact]
    public void AFileThatEndsInsideItsHeaderIsInvalidData()
    {
        var path = Write("header-only-idx3-ubyte", [0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0]);

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path));

        Assert.Contains("ends before the data its header declares", error.Message);
    }

    [Fact]
    public void AGzippedFileShorterThanItsHeaderDeclaresIsInvalidData()
    {
        var path = Write("short-idx3-ubyte.gz", IdxFiles.Gzip(IdxFiles.UnsignedBytes([2, 2, 3], Pixels[..5])));

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path));

        Assert.Contains("ends before the data its header declares", error.Message);
    }

    [Fact]
    public void AFileWithoutTheIdxMagicIsInvalidData()
    {
        var path = Write("not-idx", "P5\n2 3\n255\n"u8.ToArray());

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path));

        Assert.Equal($"{path} is not an IDX file: it does not start with two zero bytes.", error.Message);
    }

    [Fact]
    public void AFileOfAnotherElementTypeIsInvalidDataThatNamesTheType()
    {
        // 0x0D is IDX float32.
        var path = Write("floats-idx1", [0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0x80, 0x3F]);

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path));

        Assert.Equal($"{path} holds IDX type 0x0d; only unsigned bytes (0x08) are supported.", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void ARankOutsideOneToFourIsInvalidData(byte rank)
    {
        var path = Write("rank-idx", [0, 0, 0x08, rank, 0, 0, 0, 1]);

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path));

        Assert.Contains($"declares {rank} dimensions; expected 1 to 4", error.Message);
    }

    [Fact]
    public void ANegativeDimensionIsInvalidData()
    {
        var path = Write("negative-idx1-ubyte", [0, 0, 0x08, 1, 0xFF, 0xFF, 0xFF, 0xFE]);

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path));

        Assert.Contains("declares a negative dimension", error.Message);
    }

    public void Dispose() => directory.Dispose();

    private string Write(string name, byte[] bytes)
    {
        var path = directory.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
