using TeacherStudent.Distillation.Wire;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Wire;

public sealed class TensorCodecTests
{
    public static TheoryData<WireDType> AllDTypes =>
        [WireDType.Float32, WireDType.Float16, WireDType.BFloat16, WireDType.Int32, WireDType.Int64, WireDType.UInt8];

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void EncodingAndDecodingGivesBackTheSameShapeAndValues(WireDType dtype)
    {
        using var scope = NewDisposeScope();
        // Small whole numbers: exact in every wire dtype.
        var original = tensor(new float[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 }).reshape(2, 3, 2);

        var wire = TensorCodec.Encode(original, dtype);
        var decoded = TensorCodec.Decode(wire);

        Assert.Equal(dtype, wire.DType);
        Assert.Equal(new long[] { 2, 3, 2 }, wire.Shape);
        Assert.Equal(12 * dtype.ElementSize(), wire.Data.Length);
        Assert.Equal(TensorCodec.ToScalarType(dtype), decoded.dtype);
        Assert.Equal(new long[] { 2, 3, 2 }, decoded.shape);
        Assert.Equal(original.data<float>().ToArray(), decoded.to(ScalarType.Float32).data<float>().ToArray());
    }

    [Theory]
    [InlineData(WireDType.Float32, 1.0, new byte[] { 0x00, 0x00, 0x80, 0x3F })]
    [InlineData(WireDType.Float32, -2.5, new byte[] { 0x00, 0x00, 0x20, 0xC0 })]   // 0xC0200000
    [InlineData(WireDType.Float16, 1.0, new byte[] { 0x00, 0x3C })]
    [InlineData(WireDType.Float16, -2.5, new byte[] { 0x00, 0xC1 })]               // sign 1, exponent 16, mantissa 0.25
    [InlineData(WireDType.BFloat16, 1.0, new byte[] { 0x80, 0x3F })]
    [InlineData(WireDType.BFloat16, -2.5, new byte[] { 0x20, 0xC0 })]              // top half of 0xC0200000
    [InlineData(WireDType.Int32, 16909060.0, new byte[] { 0x04, 0x03, 0x02, 0x01 })] // 0x01020304
    [InlineData(WireDType.Int32, -2.0, new byte[] { 0xFE, 0xFF, 0xFF, 0xFF })]
    [InlineData(WireDType.Int64, 1.0, new byte[] { 0x01, 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(WireDType.Int64, 4294967298.0, new byte[] { 0x02, 0, 0, 0, 0x01, 0, 0, 0 })] // 2^32 + 2
    [InlineData(WireDType.UInt8, 200.0, new byte[] { 0xC8 })]
    public void EncodedBytesAreTheLittleEndianLayoutOfTheValue(WireDType dtype, double value, byte[] expected)
    {
        using var scope = NewDisposeScope();
        var single = tensor(new[] { value });

        var wire = TensorCodec.Encode(single, dtype);

        Assert.Equal(expected, wire.Data.ToArray());
    }

    [Theory]
    [InlineData(WireDType.Float32, new byte[] { 0x00, 0x00, 0x20, 0xC0 }, -2.5)]
    [InlineData(WireDType.Float16, new byte[] { 0x00, 0xC1 }, -2.5)]
    [InlineData(WireDType.BFloat16, new byte[] { 0x80, 0x3F }, 1.0)]
    [InlineData(WireDType.Int32, new byte[] { 0x04, 0x03, 0x02, 0x01 }, 16909060.0)]
    [InlineData(WireDType.Int64, new byte[] { 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }, -2.0)]
    [InlineData(WireDType.UInt8, new byte[] { 0xC8 }, 200.0)]
    public void DecodingKnownBytesGivesTheKnownValue(WireDType dtype, byte[] bytes, double expected)
    {
        using var scope = NewDisposeScope();

        var decoded = TensorCodec.Decode(new WireTensor([1], dtype, bytes));

        Assert.Equal(expected, decoded.to(ScalarType.Float64).item<double>());
    }

    [Fact]
    public void DecodeOwnsACopyOfTheBytes()
    {
        using var scope = NewDisposeScope();
        var bytes = new byte[] { 1, 2, 3 };

        var decoded = TensorCodec.Decode(new WireTensor([3], WireDType.UInt8, bytes));
        bytes[0] = 99;

        Assert.Equal(new byte[] { 1, 2, 3 }, decoded.data<byte>().ToArray());
    }

    [Fact]
    public void EncodeMakesANonContiguousTensorRowMajor()
    {
        using var scope = NewDisposeScope();
        var transposed = tensor(new float[] { 1, 2, 3, 4, 5, 6 }).reshape(2, 3).t(); // [[1, 4], [2, 5], [3, 6]]

        var wire = TensorCodec.Encode(transposed, WireDType.Float32);

        Assert.Equal(new long[] { 3, 2 }, wire.Shape);
        Assert.Equal(new float[] { 1, 4, 2, 5, 3, 6 }, TensorCodec.ToFloats(wire));
    }

    [Fact]
    public void ToFloatsDecodesFloat16Bytes()
    {
        // 1, -2.5, 0, 65504 (largest half) and 2^-24 (smallest subnormal half).
        byte[] bytes = [0x00, 0x3C, 0x00, 0xC1, 0x00, 0x00, 0xFF, 0x7B, 0x01, 0x00];

        var floats = TensorCodec.ToFloats(new WireTensor([5], WireDType.Float16, bytes));

        Assert.Equal(new[] { 1f, -2.5f, 0f, 65504f, MathF.Pow(2, -24) }, floats);
    }

    [Fact]
    public void ToFloatsDecodesFloat32AndBFloat16Bytes()
    {
        var fromFloat32 = TensorCodec.ToFloats(new WireTensor([2], WireDType.Float32, new byte[] { 0, 0, 0x80, 0x3F, 0, 0, 0x20, 0xC0 }));
        var fromBFloat16 = TensorCodec.ToFloats(new WireTensor([2], WireDType.BFloat16, new byte[] { 0x80, 0x3F, 0x20, 0xC0 }));

        Assert.Equal(new[] { 1f, -2.5f }, fromFloat32);
        Assert.Equal(new[] { 1f, -2.5f }, fromBFloat16);
    }

    [Fact]
    public void DecodingAMalformedTensorThrowsWithTheValidationMessage()
    {
        var malformed = new WireTensor([2, 2], WireDType.Float32, new byte[15]);

        var error = Assert.Throws<ArgumentException>(() => TensorCodec.Decode(malformed));

        Assert.Contains("needs 16 bytes but carries 15", error.Message);
    }

    [Fact]
    public void ATensorTypeWithoutAWireDTypeIsRejectedByName()
    {
        var error = Assert.Throws<ArgumentException>(() => TensorCodec.ToWireDType(ScalarType.Float64));

        Assert.Contains("Float64", error.Message);
    }

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void WireAndTensorTypesConvertBothWays(WireDType dtype)
    {
        Assert.Equal(dtype, TensorCodec.ToWireDType(TensorCodec.ToScalarType(dtype)));
    }
}
