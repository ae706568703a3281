using TorchSharp;

namespace TeacherStudent.Distillation;

/// <summary>
/// Constant Scalars that live as long as the process. An implicitly converted number
/// (<c>tensor.gt(0)</c>, <c>tensor / 2.0</c>) becomes a Scalar that nothing holds once its native
/// handle has been read, so the finalizer may free it while libtorch still uses it; that was seen
/// here as a rare "Unknown scalar type" in a long training run. Code on the training and serving
/// paths therefore passes Scalars that something keeps alive: these, or fields of its own.
/// Some TorchSharp methods make one themselves: <c>add(x)</c> and <c>add_(x)</c> without an alpha
/// pass an implicit 1 (the <c>+</c> operator too), <c>addcdiv</c> without a value likewise, and
/// <c>square()</c> is <c>pow(2)</c>; write <c>add(x, TorchScalars.One)</c> and <c>x.mul(x)</c>.
/// </summary>
public static class TorchScalars
{
    public static readonly Scalar Zero = 0.ToScalar();
    public static readonly Scalar One = 1.ToScalar();
}
