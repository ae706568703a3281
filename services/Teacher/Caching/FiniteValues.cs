using System.Numerics;
using System.Runtime.InteropServices;
using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// Whether soft-target bytes hold only finite numbers. NaN and infinity are the values whose
/// exponent bits are all ones, in float32 and float16 alike, so a whole vector of values is
/// checked with one AND and one compare.
/// </summary>
public static class FiniteValues
{
    private const uint Float32Exponent = 0x7F80_0000;
    private const ushort Float16Exponent = 0x7C00;

    /// <summary>True when every value in <paramref name="values"/> (little-endian float32 or float16) is finite.</summary>
    public static bool All(ReadOnlySpan<byte> values, WireDType dtype) => dtype switch
    {
        WireDType.Float32 => NoneWithAllExponentBits(MemoryMarshal.Cast<byte, uint>(values), Float32Exponent),
        WireDType.Float16 => NoneWithAllExponentBits(MemoryMarshal.Cast<byte, ushort>(values), Float16Exponent),
        _ => throw new ArgumentException($"soft targets are float32 or float16, not {dtype.DisplayName()}.", nameof(dtype)),
    };

    private static bool NoneWithAllExponentBits<T>(ReadOnlySpan<T> bits, T exponent) where T : unmanaged, IBinaryInteger<T>
    {
        var mask = new Vector<T>(exponent);
        int i = 0;
        for (; i <= bits.Length - Vector<T>.Count; i += Vector<T>.Count)
        {
            if (Vector.EqualsAny(new Vector<T>(bits[i..]) & mask, mask)) return false;
        }
        for (; i < bits.Length; i++)
        {
            if ((bits[i] & exponent) == exponent) return false;
        }
        return true;
    }
}
