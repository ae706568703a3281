using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests;

/// <summary>
/// Guards the GLIBCXX fix in build/TorchSharpGlibcxx.targets: without it the native library
/// fails to load on Debian 12 and every tensor operation throws.
/// </summary>
public sealed class TorchLoadsTests
{
    [Fact]
    public void TorchLoadsAndMultipliesTwoMatrices()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);
        var b = tensor(new float[] { 5, 6, 7, 8 }).reshape(2, 2);

        var product = a.matmul(b);

        // [[1*5 + 2*7, 1*6 + 2*8], [3*5 + 4*7, 3*6 + 4*8]]
        Assert.Equal(new float[] { 19, 22, 43, 50 }, product.data<float>().ToArray());
    }
}
