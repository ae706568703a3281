using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// Turns pixels as they arrive (bytes 0..255, or floats already in 0..1) into the standardised
/// floats the models are trained on. Every model calls it first, so that callers send raw pixels.
/// </summary>
public static class PixelNormalization
{
    // Mean and standard deviation of Fashion-MNIST training pixels in 0..1.
    private const double Mean = 0.2860;
    private const double Std = 0.3530;

    /// <summary>Standardised float32 pixels of the same shape.</summary>
    public static Tensor Apply(Tensor pixels)
    {
        var x = pixels.dtype == ScalarType.Byte ? pixels.to(ScalarType.Float32).div_(255.0) : pixels.to(ScalarType.Float32);
        return x.sub(Mean).div_(Std);
    }
}
