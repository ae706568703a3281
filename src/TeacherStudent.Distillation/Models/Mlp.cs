using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// The student: a multi-layer perceptron on flattened pixels, two hidden layers of
/// <see cref="ModelSpec.Width"/> units with ReLU.
/// </summary>
public sealed class Mlp : Module<Tensor, Tensor>
{
    public const string Name = "mlp";

    private readonly Sequential layers;

    public Mlp(ModelSpec spec) : base(Name)
    {
        long inputs = (long)spec.Channels * spec.Height * spec.ImageWidth;
        layers = Sequential(
            Flatten(),
            Linear(inputs, spec.Width), ReLU(), Dropout(0.1),
            Linear(spec.Width, spec.Width), ReLU(), Dropout(0.1),
            Linear(spec.Width, spec.Classes));
        RegisterComponents();
    }

    public override Tensor forward(Tensor pixels) => layers.forward(PixelNormalization.Apply(pixels));
}
