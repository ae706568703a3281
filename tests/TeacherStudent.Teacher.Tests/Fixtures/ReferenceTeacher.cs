using TeacherStudent.Distillation.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests.Fixtures;

/// <summary>
/// The same checkpoint run in the test process, the plain way: log_softmax(model(x) / T).
/// What the service answers is checked against this.
/// </summary>
public sealed class ReferenceTeacher : IDisposable
{
    private readonly nn.Module<Tensor, Tensor> model;

    public ReferenceTeacher(string checkpoint)
    {
        (_, model) = Checkpoint.Load(checkpoint, CPU);
    }

    /// <summary>Log-probabilities, row-major [count, classes], of uint8 images [count, 28, 28].</summary>
    public float[] LogProbs(ReadOnlySpan<byte> pixels, int count, float temperature)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = tensor(pixels.ToArray(), [count, 1, 28, 28]);
        var logits = model.forward(x);
        return nn.functional.log_softmax(logits / temperature, 1).data<float>().ToArray();
    }

    public void Dispose() => model.Dispose();
}
