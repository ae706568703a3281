using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// What a classifier is built from: its architecture name, its width and the shape of its
/// input and output. Saved in every checkpoint, so a checkpoint alone rebuilds its model.
/// </summary>
public sealed record ModelSpec(string Architecture, int Width, int Channels, int Height, int ImageWidth, int Classes)
{
    /// <summary>Architectures that <see cref="Create"/> knows.</summary>
    public static readonly IReadOnlyList<string> KnownArchitectures = [ConvNet.Name, Mlp.Name];

    /// <summary>Builds a new, randomly initialised model of this spec.</summary>
    public nn.Module<Tensor, Tensor> Create() => Architecture switch
    {
        ConvNet.Name => new ConvNet(this),
        Mlp.Name => new Mlp(this),
        _ => throw new ArgumentException(
            $"unknown architecture '{Architecture}'; known: {string.Join(", ", KnownArchitectures)}."),
    };

    /// <summary>A spec for 28x28 grey-scale images in ten classes (Fashion-MNIST).</summary>
    public static ModelSpec ForFashionMnist(string architecture, int width) => new(architecture, width, 1, 28, 28, 10);

    /// <summary>Shape of one example: [channels, height, width].</summary>
    public long[] ExampleShape => [Channels, Height, ImageWidth];
}
