using TorchSharp;

namespace TeacherStudent.Distillation;

/// <summary>
/// Constant Scalars that live as long as the process. An implicitly converted number
/// (<c>tensor.gt(0)</c>, <c>tensor / 2.0</c>) becomes a Scalar that nothing holds once its native
/// handle has been read, so the finalizer may free it while libtorch still uses it; that was seen
/// here as a rare "Unknown scalar type" in a long training run. Code on the training and serving
/// paths therefore passes Scalars that something keeps alive: these, or fields of its own.
/// </summary>
public static class TorchScalars
{
    public static readonly Scalar Zero = 0.ToScalar();
    public static readonly Scalar One = 1.ToScalar();
}
