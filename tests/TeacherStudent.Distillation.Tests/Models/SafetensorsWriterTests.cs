using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TeacherStudent.Distillation.Models;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Models;

/// <summary>The safetensors writer, read back by TorchSharp.PyBridge's reader (another implementation of the format).</summary>
public sealed class SafetensorsWriterTests : IDisposable
{
    private readonly TemporaryDirectory directory = new();

    public void Dispose() => directory.Dispose();

    private static (ulong Length, JsonElement Header) ReadHeader(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var length = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return (length, JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)length)).RootElement.Clone());
    }

    [Fact]
    public void EveryTensorReadsBackWithItsNameDtypeShapeAndValues()
    {
        // Arrange
        using var scope = NewDisposeScope();
        manual_seed(3);
        var tensors = new Dictionary<string, Tensor>
        {
            ["layers.1.weight"] = randn(5, 7),
            ["layers.1.bias"] = randn(5).to(ScalarType.Float64),
            ["features.1.num_batches_tracked"] = tensor(42L), // a scalar: shape []
            ["mask"] = tensor(new byte[] { 0, 255, 7 }),
            ["half"] = randn(2, 3).to(ScalarType.Float16),
            ["transposed"] = arange(12, dtype: ScalarType.Int32).reshape(3, 4).t(), // not contiguous
        };
        var path = directory.File("model.safetensors");

        // Act
        SafetensorsWriter.Write(path, tensors);
        var read = Safetensors.LoadStateDict(path);

        // Assert
        Assert.Equal(tensors.Keys.Order(), read.Keys.Order());
        foreach (var (name, expected) in tensors)
        {
            var actual = read[name];
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True(expected.eq(actual).all().item<bool>(), $"{name} differs");
        }
    }

    [Fact]
    public void TheHeaderSaysFormatPtAndIsPaddedSoTheDataStartsOnAMultipleOfEight()
    {
        // Arrange
        using var scope = NewDisposeScope();
        var path = directory.File("model.safetensors");

        // Act
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["w"] = ones(3), ["b"] = zeros(1, 2, ScalarType.BFloat16) });
        var (length, header) = ReadHeader(path);

        // Assert
        Assert.Equal("pt", header.GetProperty("__metadata__").GetProperty("format").GetString());
        Assert.Equal(0UL, (8 + length) % 8);
        Assert.Equal("F32", header.GetProperty("w").GetProperty("dtype").GetString());
        Assert.Equal([0L, 12L], header.GetProperty("w").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal("BF16", header.GetProperty("b").GetProperty("dtype").GetString());
        Assert.Equal([12L, 16L], header.GetProperty("b").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(8 + (long)length + 16, new FileInfo(path).Length);
    }

    [Fact]
    public void WritingOverALongerFileLeavesNoTailOfIt()
    {
        // Arrange: a file of the same name, longer than what is written now.
        using var scope = NewDisposeScope();
        var path = directory.File("model.safetensors");
        File.WriteAllBytes(path, new byte[100_000]);

        // Act
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["w"] = ones(4) });
        var (length, _) = ReadHeader(path);

        // Assert
        Assert.Equal(8 + (long)length + 16, new FileInfo(path).Length);
        Assert.Equal([1f, 1f, 1f, 1f], Safetensors.LoadStateDict(path)["w"].data<float>().ToArray());
    }
}
