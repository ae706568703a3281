using TeacherStudent.Distillation.Data;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Training;

/// <summary>Accuracy and cross-entropy of a classifier on a labelled dataset.</summary>
public static class Evaluation
{
    /// <summary>Runs the model in eval mode without gradients over <paramref name="data"/>.</summary>
    public static (double Loss, double Accuracy) Evaluate(nn.Module<Tensor, Tensor> model, ImageDataset data, Device device, int batchSize = 1000)
    {
        bool wasTraining = model.training;
        model.eval();
        double lossSum = 0;
        long correct = 0;
        using (no_grad())
        {
            for (int start = 0; start < data.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int count = Math.Min(batchSize, data.Count - start);
                var x = tensor(data.Pixels.AsSpan(start * data.ExampleSize, count * data.ExampleSize).ToArray(), ScalarType.Byte)
                    .reshape(count, 1, data.Height, data.Width).to(device);
                var y = tensor(data.Labels.AsSpan(start, count).ToArray().Select(l => (long)l).ToArray()).to(device);
                var logits = model.forward(x);
                lossSum += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
                correct += logits.argmax(1).eq(y).sum().item<long>();
            }
        }
        model.train(wasTraining);
        return (lossSum / data.Count, (double)correct / data.Count);
    }
}
