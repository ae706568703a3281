using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Training;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Training;

public sealed class ModelSoftTargetSourceTests
{
    private static readonly ModelSpec Spec = ModelSpec.ForFashionMnist(Mlp.Name, 16);

    [Fact]
    public void LogProbsAtTemperatureTAreTheLogSoftmaxOfTheTemperatureOneLogProbsDividedByT()
    {
        using var model = Spec.Create();
        var pixels = Pixels(2);
        var plain = new ModelSoftTargetSource("t", "v", Spec, model, temperature: 1).LogProbs(pixels, 2);

        var tempered = new ModelSoftTargetSource("t", "v", Spec, model, temperature: 3).LogProbs(pixels, 2);

        // log_softmax(z) = z - c, so log_softmax(z / 3) = log_softmax(log_softmax(z) / 3): worked out here in doubles.
        for (int b = 0; b < 2; b++)
        {
            var row = plain.Skip(b * 10).Take(10).Select(l => l / 3.0).ToArray();
            var logSumExp = Math.Log(row.Sum(Math.Exp));
            for (int c = 0; c < 10; c++)
                Assert.Equal(row[c] - logSumExp, tempered[b * 10 + c], 1e-5);
        }
        Assert.All(Enumerable.Range(0, 2), b => Assert.Equal(1.0, plain.Skip(b * 10).Take(10).Sum(l => Math.Exp(l)), 1e-5));
    }

    [Fact]
    public void LogProbsIgnoreDropoutAndLeaveNoGradient()
    {
        using var model = Spec.Create();
        model.train();
        var source = new ModelSoftTargetSource("t", "v", Spec, model, temperature: 2);
        var pixels = Pixels(3);

        var first = source.LogProbs(pixels, 3);
        var second = source.LogProbs(pixels, 3);

        Assert.Equal(first, second);
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public async Task ASourceDescribesItselfAndCountsItsRequests()
    {
        using var model = Spec.Create();
        var source = new ModelSoftTargetSource("convnet-teacher", "abc", Spec, model, temperature: 4);

        var identity = await source.DescribeAsync(CancellationToken.None);
        var batch = await source.GetAsync(Pixels(2), 2, CancellationToken.None);

        Assert.Equal(new TeacherIdentity("convnet-teacher", "abc", 10), identity);
        Assert.Equal((2, 10, "abc"), (batch.Count, batch.Classes, batch.TeacherVersion));
        Assert.Equal(20, batch.LogProbs.Length);
        Assert.Equal(1, source.Requests);
    }

    private static byte[] Pixels(int count) => Enumerable.Range(0, count * 28 * 28).Select(i => (byte)(i * 31 % 256)).ToArray();
}
