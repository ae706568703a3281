using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Language;

public sealed class HeldScalarAdamWTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.05)]
    public void ItsStepsGiveBitForBitTheWeightsOfTorchSharpsAdamW(double weightDecay)
    {
        // Arrange: two copies of one model, one optimiser each, the same batches and learning rates.
        using var scope = NewDisposeScope();
        manual_seed(7);
        var spec = ModelSpec.ForFashionMnist(ConvNet.Name, 4);
        using var ours = spec.Create();
        using var theirs = spec.Create();
        theirs.load_state_dict(ours.state_dict());
        using var held = new HeldScalarAdamW(ours.parameters().Select(p => (p, weightDecay)));
        using var reference = optim.AdamW(theirs.parameters(), 1e-3, weight_decay: weightDecay);

        // Act: five steps at changing learning rates.
        for (int step = 0; step < 5; step++)
        {
            var lr = 1e-3 * (step + 1);
            var x = randint(0, 256, [16, 1, 28, 28], ScalarType.Byte);
            var y = randint(0, 10, [16], ScalarType.Int64);
            held.LearningRate = lr;
            foreach (var group in reference.ParamGroups) group.LearningRate = lr;
            ours.zero_grad();
            manual_seed(100 + step); // the same dropout masks for both
            nn.functional.cross_entropy(ours.forward(x), y).backward();
            held.Step();
            reference.zero_grad();
            manual_seed(100 + step);
            nn.functional.cross_entropy(theirs.forward(x), y).backward();
            reference.step();
        }

        // Assert
        foreach (var ((name, a), (_, b)) in ours.named_parameters().Zip(theirs.named_parameters()))
            Assert.True(a.data<float>().ToArray().SequenceEqual(b.data<float>().ToArray()), $"{name} differs after five steps.");
    }
}
