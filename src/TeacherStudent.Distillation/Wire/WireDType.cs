namespace TeacherStudent.Distillation.Wire;

/// <summary>
/// Element types of tensors on the wire. The numeric values are those of
/// <c>distill.v1.DType</c> in protos/, so that a cast converts between the two.
/// </summary>
public enum WireDType
{
    Unspecified = 0,
    Float32 = 1,
    Float16 = 2,
    BFloat16 = 3,
    Int32 = 4,
    Int64 = 5,
    UInt8 = 6,
    UInt16 = 7,
}

/// <summary>Sizes and names of <see cref="WireDType"/> values.</summary>
public static class WireDTypes
{
    /// <summary>Bytes per element, or 0 for <see cref="WireDType.Unspecified"/> and unknown values.</summary>
    public static int ElementSize(this WireDType dtype) => dtype switch
    {
        WireDType.Float32 or WireDType.Int32 => 4,
        WireDType.Float16 or WireDType.BFloat16 or WireDType.UInt16 => 2,
        WireDType.Int64 => 8,
        WireDType.UInt8 => 1,
        _ => 0,
    };

    /// <summary>The lower-case name used in messages: float32, float16, ...</summary>
    public static string DisplayName(this WireDType dtype) => dtype switch
    {
        WireDType.Float32 => "float32",
        WireDType.Float16 => "float16",
        WireDType.BFloat16 => "bfloat16",
        WireDType.Int32 => "int32",
        WireDType.Int64 => "int64",
        WireDType.UInt8 => "uint8",
        WireDType.UInt16 => "uint16",
        WireDType.Unspecified => "unspecified",
        _ => $"unknown ({(int)dtype})",
    };
}
