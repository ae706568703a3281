using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Wire;

/// <summary>
/// Converts between TorchSharp tensors and <see cref="WireTensor"/>: little-endian bytes,
/// row-major, in any of the wire dtypes.
/// </summary>
public static class TensorCodec
{
    /// <summary>The TorchSharp scalar type for a wire dtype.</summary>
    public static ScalarType ToScalarType(WireDType dtype) => dtype switch
    {
        WireDType.Float32 => ScalarType.Float32,
        WireDType.Float16 => ScalarType.Float16,
        WireDType.BFloat16 => ScalarType.BFloat16,
        WireDType.Int32 => ScalarType.Int32,
        WireDType.Int64 => ScalarType.Int64,
        WireDType.UInt8 => ScalarType.Byte,
        // TorchSharp has no uint16 tensors: token ids that travel as uint16 are read as int32.
        _ => throw new ArgumentException($"dtype {dtype.DisplayName()} has no tensor type.", nameof(dtype)),
    };

    /// <summary>The wire dtype for a TorchSharp scalar type.</summary>
    public static WireDType ToWireDType(ScalarType type) => type switch
    {
        ScalarType.Float32 => WireDType.Float32,
        ScalarType.Float16 => WireDType.Float16,
        ScalarType.BFloat16 => WireDType.BFloat16,
        ScalarType.Int32 => WireDType.Int32,
        ScalarType.Int64 => WireDType.Int64,
        ScalarType.Byte => WireDType.UInt8,
        _ => throw new ArgumentException($"tensors of type {type} cannot travel on the wire.", nameof(type)),
    };

    /// <summary>
    /// Copies a tensor (any device) into a new wire tensor of the given dtype.
    /// </summary>
    public static WireTensor Encode(Tensor tensor, WireDType dtype)
    {
        using var scope = NewDisposeScope();
        var cpu = tensor.to(ToScalarType(dtype), CPU).contiguous();
        var bytes = new byte[cpu.NumberOfElements * dtype.ElementSize()];
        CopyBytes(cpu, bytes);
        return new WireTensor(cpu.shape, dtype, bytes);
    }

    /// <summary>Copies the bytes of a contiguous CPU tensor into <paramref name="destination"/>.</summary>
    public static void CopyBytes(Tensor contiguousCpu, Span<byte> destination)
    {
        // The storage is little-endian on every platform TorchSharp ships for.
        var source = contiguousCpu.bytes;
        source.CopyTo(destination);
    }

    /// <summary>
    /// Builds a CPU tensor from a well-formed wire tensor (see <see cref="WireTensor.Validate"/>).
    /// The result owns a copy of the bytes.
    /// </summary>
    public static Tensor Decode(WireTensor wire)
    {
        var error = wire.Validate();
        if (error is not null) throw new ArgumentException(error, nameof(wire));
        var result = empty(wire.Shape, ToScalarType(wire.DType));
        wire.Data.Span.CopyTo(result.bytes);
        return result;
    }

    /// <summary>Reinterprets little-endian float32 bytes as floats without copying.</summary>
    public static ReadOnlySpan<float> AsFloats(ReadOnlySpan<byte> bytes) => MemoryMarshal.Cast<byte, float>(bytes);

    /// <summary>Decodes float32 or float16 wire bytes into floats.</summary>
    public static float[] ToFloats(WireTensor wire)
    {
        var error = wire.Validate();
        if (error is not null) throw new ArgumentException(error, nameof(wire));
        switch (wire.DType)
        {
            case WireDType.Float32:
                return AsFloats(wire.Data.Span).ToArray();
            case WireDType.Float16:
                var halves = MemoryMarshal.Cast<byte, Half>(wire.Data.Span);
                var floats = new float[halves.Length];
                for (int i = 0; i < halves.Length; i++) floats[i] = (float)halves[i];
                return floats;
            default:
                using (var scope = NewDisposeScope())
                {
                    return Decode(wire).to(ScalarType.Float32).data<float>().ToArray();
                }
        }
    }
}
