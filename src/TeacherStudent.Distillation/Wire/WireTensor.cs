namespace TeacherStudent.Distillation.Wire;

/// <summary>
/// A tensor as it travels: shape, element type and little-endian row-major bytes.
/// The bytes are not copied: whoever builds one hands over the buffer.
/// </summary>
public sealed record WireTensor(long[] Shape, WireDType DType, ReadOnlyMemory<byte> Data)
{
    /// <summary>Number of elements the shape describes; <see cref="OverflowException"/> when that exceeds a long.</summary>
    public long ElementCount => Shape.Aggregate(1L, (n, d) => checked(n * d));

    /// <summary>
    /// Checks that dtype, shape and byte length agree. Returns a plain sentence saying what is
    /// wrong, or null when the tensor is well formed.
    /// </summary>
    public string? Validate()
    {
        int size = DType.ElementSize();
        if (size == 0)
            return $"tensor dtype {DType.DisplayName()} is not supported; use float32, float16, bfloat16, int32, int64 or uint8.";
        if (Shape.Length == 0)
            return "tensor shape is empty; give at least the batch dimension.";
        if (Shape.Any(d => d < 0))
            return $"tensor shape [{string.Join(", ", Shape)}] has a negative dimension.";
        long expected;
        try { expected = checked(ElementCount * size); }
        catch (OverflowException) { return $"tensor shape [{string.Join(", ", Shape)}] is too large."; }
        if (expected != Data.Length)
            return $"tensor of shape [{string.Join(", ", Shape)}] and dtype {DType.DisplayName()} needs {expected} bytes but carries {Data.Length}.";
        return null;
    }
}
