using TeacherStudent.Distillation.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Models;

/// <summary>These run where there is no CUDA (the CPU build of TorchSharp).</summary>
public sealed class DeviceChoiceTests
{
    [Fact]
    public void TheTestMachineHasNoCuda()
    {
        Assert.False(cuda.is_available(), "these tests assume a CPU-only TorchSharp; the cuda cases below would not hold.");
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("CPU")]
    public void CpuResolvesToTheCpu(string requested)
    {
        Assert.Equal(DeviceType.CPU, DeviceChoice.Resolve(requested).type);
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("Auto")]
    [InlineData("")]
    [InlineData(null)]
    public void AutoResolvesToTheCpuWithoutCuda(string? requested)
    {
        Assert.Equal(DeviceType.CPU, DeviceChoice.Resolve(requested).type);
    }

    [Theory]
    [InlineData("cuda")]
    [InlineData("cuda:1")]
    public void CudaWithoutCudaIsAClearError(string requested)
    {
        var error = Assert.Throws<ArgumentException>(() => DeviceChoice.Resolve(requested));

        Assert.Equal($"device '{requested}' was asked for, but this build or machine has no CUDA; use 'cpu' or 'auto'.", error.Message);
    }

    [Fact]
    public void ANameThatIsNoDeviceIsAClearError()
    {
        var error = Assert.Throws<ArgumentException>(() => DeviceChoice.Resolve("gpu"));

        Assert.Equal("device 'gpu' is not a device; use auto, cpu or cuda[:index].", error.Message);
    }
}
