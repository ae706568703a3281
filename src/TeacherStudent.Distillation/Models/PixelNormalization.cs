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

    /// <summary>Mean of Fashion-MNIST training pixels in 0..1, subtracted first.</summary>
    public const double Mean = 0.2860;

    /// <summary>Their standard deviation, divided by next.</summary>
    public const double Std = 0.3530;

    // The constants and the byte scale held as rooted Scalars (see TorchScalars).
    private static readonly TorchSharp.Scalar MeanScalar = Mean.ToScalar();
    private static readonly TorchSharp.Scalar StdScalar = Std.ToScalar();
    private static readonly TorchSharp.Scalar ByteScale = 255.0.ToScalar();

    /// <summary>Standardised float32 pixels of the same shape.</summary>
    public static Tensor Apply(Tensor pixels) => ToUnitRange(pixels).sub_(MeanScalar).div_(StdScalar);

    /// <summary>Float32 pixels in 0..1 of the same shape: bytes divided by 255, floats as they are (a new tensor either way).</summary>
    public static Tensor ToUnitRange(Tensor pixels) =>
        pixels.dtype == ScalarType.Byte ? pixels.to(ScalarType.Float32).div_(ByteScale) : pixels.to(ScalarType.Float32, copy: true);
}
