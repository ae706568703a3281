using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// The teacher: two 3x3 conv blocks (conv, batch norm, ReLU, 2x2 max-pool) and a two-layer
/// head with dropout. Width = channels of the first block; the second has twice as many.
/// </summary>
public sealed class ConvNet : Module<Tensor, Tensor>
{
    public const string Name = "convnet";

    private readonly Sequential features;
    private readonly Sequential head;

    public ConvNet(ModelSpec spec) : base(Name)
    {
        int c1 = spec.Width, c2 = 2 * spec.Width;
        features = Sequential(
            Conv2d(spec.Channels, c1, 3, padding: 1, bias: false), BatchNorm2d(c1), ReLU(), MaxPool2d(2),
            Conv2d(c1, c2, 3, padding: 1, bias: false), BatchNorm2d(c2), ReLU(), MaxPool2d(2));
        long flat = c2 * (spec.Height / 4) * (spec.ImageWidth / 4);
        head = Sequential(
            Flatten(), Dropout(0.3),
            Linear(flat, 4 * spec.Width), ReLU(), Dropout(0.3),
            Linear(4 * spec.Width, spec.Classes));
        RegisterComponents();
    }

    public override Tensor forward(Tensor pixels) => head.forward(features.forward(PixelNormalization.Apply(pixels)));
}
