using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Tests.Losses;
using TeacherStudent.Distillation.Training;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Training;

public sealed class EvaluationTests
{
    [Fact]
    public void LossAndAccuracyAreTheMeanCrossEntropyAndTheShareOfCorrectArgmaxes()
    {
        using var scope = NewDisposeScope();
        using var model = ModelSpec.ForFashionMnist(Mlp.Name, 16).Create();
        var pixels = Enumerable.Range(0, 5 * 28 * 28).Select(i => (byte)(i * 13 % 256)).ToArray();
        var labels = new byte[] { 0, 3, 3, 7, 9 };
        var data = new ImageDataset(pixels, labels, 28, 28, FashionMnist.ClassNames);
        model.eval();
        var logits = model.forward(tensor(pixels).reshape(5, 1, 28, 28)).to(ScalarType.Float64).data<double>().ToArray();
        var rows = Enumerable.Range(0, 5).Select(b => logits[(b * 10)..(b * 10 + 10)]).ToArray();
        model.train();

        // Batches of 2 so that the sums run over several batches, the last one short.
        var (loss, accuracy) = Evaluation.Evaluate(model, data, CPU, batchSize: 2);

        var expectedLoss = Enumerable.Range(0, 5).Average(b => Reference.CrossEntropy(rows[b], labels[b]));
        var expectedAccuracy = Enumerable.Range(0, 5).Count(b => Array.IndexOf(rows[b], rows[b].Max()) == labels[b]) / 5.0;
        Assert.Equal(expectedLoss, loss, 1e-5);
        Assert.Equal(expectedAccuracy, accuracy);
        Assert.True(model.training, "evaluation should leave a training model in training mode");
    }
}
