using TeacherStudent.Distillation.Models;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Models;

public sealed class ModelTests
{
    [Theory]
    [InlineData(Mlp.Name, 16)]
    [InlineData(ConvNet.Name, 4)]
    public void AModelMapsABatchOfBytePixelsToTenLogitsPerExample(string architecture, int width)
    {
        using var scope = NewDisposeScope();
        using var model = ModelSpec.ForFashionMnist(architecture, width).Create();
        model.eval();
        var pixels = randint(0, 256, [3, 1, 28, 28], ScalarType.Byte);

        var logits = model.forward(pixels);

        Assert.Equal(new long[] { 3, 10 }, logits.shape);
        Assert.Equal(ScalarType.Float32, logits.dtype);
        Assert.All(logits.data<float>().ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [InlineData(Mlp.Name, 16)]
    [InlineData(ConvNet.Name, 4)]
    public void BytePixelsAndTheSamePixelsAsFloatsInZeroToOneGiveTheSameOutput(string architecture, int width)
    {
        using var scope = NewDisposeScope();
        using var model = ModelSpec.ForFashionMnist(architecture, width).Create();
        model.eval();
        var bytes = randint(0, 256, [2, 1, 28, 28], ScalarType.Byte);
        var floats = bytes.to(ScalarType.Float32) / 255.0;

        var fromBytes = model.forward(bytes);
        var fromFloats = model.forward(floats);

        Assert.True(fromBytes.allclose(fromFloats, rtol: 1e-5, atol: 1e-5),
            $"bytes gave {fromBytes.ToString(TorchSharp.TensorStringStyle.Julia)}, floats gave {fromFloats.ToString(TorchSharp.TensorStringStyle.Julia)}");
    }

    [Fact]
    public void PixelNormalizationStandardisesWithTheFashionMnistMeanAndDeviation()
    {
        using var scope = NewDisposeScope();
        var pixels = tensor(new byte[] { 0, 255, 51 });

        var normalised = PixelNormalization.Apply(pixels).data<float>().ToArray();

        // (p / 255 - 0.2860) / 0.3530
        Assert.Equal(-0.2860 / 0.3530, normalised[0], 1e-6);
        Assert.Equal((1 - 0.2860) / 0.3530, normalised[1], 1e-6);
        Assert.Equal((0.2 - 0.2860) / 0.3530, normalised[2], 1e-6);
    }

    [Fact]
    public void AnUnknownArchitectureIsRejectedWithTheKnownOnes()
    {
        var spec = ModelSpec.ForFashionMnist("resnet", 8);

        var error = Assert.Throws<ArgumentException>(() => spec.Create());

        Assert.Contains("'resnet'", error.Message);
        Assert.Contains("convnet, mlp", error.Message);
    }
}
