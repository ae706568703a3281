using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.Distillation.Tests.Wire;

public sealed class WireTensorTests
{
    [Fact]
    public void AWellFormedTensorValidates()
    {
        var tensor = new WireTensor([2, 3], WireDType.Float16, new byte[12]);

        Assert.Null(tensor.Validate());
    }

    [Fact]
    public void AnEmptyBatchWithNoBytesValidates()
    {
        var tensor = new WireTensor([0, 28, 28], WireDType.UInt8, ReadOnlyMemory<byte>.Empty);

        Assert.Null(tensor.Validate());
    }

    [Fact]
    public void AWrongByteLengthIsRejectedWithTheExpectedAndActualLengths()
    {
        var tensor = new WireTensor([2, 3], WireDType.Float32, new byte[23]);

        var error = tensor.Validate();

        Assert.Equal("tensor of shape [2, 3] and dtype float32 needs 24 bytes but carries 23.", error);
    }

    [Fact]
    public void ANegativeDimensionIsRejected()
    {
        var tensor = new WireTensor([-2, -3], WireDType.UInt8, new byte[6]);

        var error = tensor.Validate();

        Assert.Equal("tensor shape [-2, -3] has a negative dimension.", error);
    }

    [Theory]
    [InlineData(WireDType.Unspecified, "tensor dtype unspecified is not supported")]
    [InlineData((WireDType)42, "tensor dtype unknown (42) is not supported")]
    public void AnUnknownDTypeIsRejectedWithTheSupportedOnes(WireDType dtype, string expected)
    {
        var tensor = new WireTensor([1], dtype, new byte[4]);

        var error = tensor.Validate();

        Assert.NotNull(error);
        Assert.StartsWith(expected, error);
        Assert.Contains("use float32, float16, bfloat16, int32, int64 or uint8", error);
    }

    [Fact]
    public void AnEmptyShapeIsRejected()
    {
        var tensor = new WireTensor([], WireDType.Float32, new byte[4]);

        var error = tensor.Validate();

        Assert.Equal("tensor shape is empty; give at least the batch dimension.", error);
    }

    [Theory]
    [InlineData(new long[] { long.MaxValue, 2 })]
    [InlineData(new long[] { 1L << 32, 1L << 32 })]  // 2^64 elements: wraps to 0 in unchecked arithmetic
    [InlineData(new long[] { 1L << 31, 1L << 31, 4 })] // 2^64 elements again
    public void AShapeTooLargeToCountIsRejected(long[] shape)
    {
        var tensor = new WireTensor(shape, WireDType.Float32, ReadOnlyMemory<byte>.Empty);

        var error = tensor.Validate();

        Assert.NotNull(error);
        Assert.EndsWith("is too large.", error);
    }
}
