using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// Turns pixels as they arrive (bytes 0..255, or floats already in 0..1) into the standardised
/// floats the models are trained on. Every model calls it first, so that callers send raw pixels.
/// </summary>
public static class PixelNormalization
{
    /// <summary>Darkest float pixel: floats are pixels scaled to 0..1, a byte's value divided by 255.</summary>
    public const float FloatMin = 0f;

    /// <summary>Brightest float pixel.</summary>
    public const float FloatMax = 1f;

    // Mean and standard deviation of Fashion-MNIST training pixels in 0..1, and the byte scale,
    // held as rooted Scalars (see TorchScalars).
    private static readonly TorchSharp.Scalar Mean = 0.2860.ToScalar();
    private static readonly TorchSharp.Scalar Std = 0.3530.ToScalar();
    private static readonly TorchSharp.Scalar ByteScale = 255.0.ToScalar();

    /// <summary>Standardised float32 pixels of the same shape.</summary>
    public static Tensor Apply(Tensor pixels)
    {
        var x = pixels.dtype == ScalarType.Byte ? pixels.to(ScalarType.Float32).div_(ByteScale) : pixels.to(ScalarType.Float32);
        return x.sub(Mean).div_(Std);
    }
}
