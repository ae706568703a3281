using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>Picks the device models run on: CUDA when there is one, else the CPU, unless told.</summary>
public static class DeviceChoice
{
    /// <summary>
    /// Resolves "auto" (or empty) to cuda when available, else cpu; "cpu" and "cuda[:n]" are taken
    /// as given, and asking for cuda where there is none is an error that says so.
    /// </summary>
    public static Device Resolve(string? requested)
    {
        if (string.IsNullOrWhiteSpace(requested) || requested.Equals("auto", StringComparison.OrdinalIgnoreCase))
            return cuda.is_available() ? CUDA : CPU;
        if (requested.StartsWith("cuda", StringComparison.OrdinalIgnoreCase) && !cuda.is_available())
            throw new ArgumentException($"device '{requested}' was asked for, but this build or machine has no CUDA; use 'cpu' or 'auto'.");
        try { return new Device(requested); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ArgumentException($"device '{requested}' is not a device; use auto, cpu or cuda[:index].", e);
        }
    }
}
