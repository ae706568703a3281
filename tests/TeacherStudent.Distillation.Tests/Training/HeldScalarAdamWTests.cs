using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Training;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Training;

/// <summary>
/// <see cref="HeldScalarAdamW"/> against TorchSharp 0.107's <c>optim.AdamW</c>
/// (src/TorchSharp/Optimizers/AdamW.cs), whose step it repeats op for op with Scalars of the same
/// double values: <c>p.mul_(1 - lr*wd)</c>, <c>m.mul_(b1).add_(g, 1 - b1)</c>,
/// <c>v.mul_(b2).addcmul_(g, g, 1 - b2)</c>, <c>sqrt(v) / sqrt(c2) + eps</c>,
/// <c>p.addcdiv_(m, denominator, -lr/c1)</c>. (TorchSharp also multiplies by 1 when the decay is 0;
/// ours skips that, which changes no bit.) Both are given the same gradients, so they run the same
/// elementwise kernels on the same inputs and the weights are equal bit for bit on any CPU; the
/// parameters are far below libtorch's 32768-element grain, so each kernel runs on one thread
/// whatever the thread count.
/// Why the same gradients: this test once ran a forward and a backward pass on each of two copies
/// of a width-4 ConvNet, and failed on 2-core AVX-512 machines (AMD EPYC) at weight decay 0.05, and
/// at times at 0. The optimisers were not the cause: given equal gradients they agreed in every
/// trial. The gradients differed. libtorch 2.10's oneDNN 3.7.1 computes a convolution's input
/// gradient with its jit:avx512_core kernel there, and when the input channels are not a multiple
/// of 8 (that ConvNet's second convolution had 4) the gradient is wrong, against a float64
/// transposed convolution: by up to a third of its largest value, at times NaN, and with two
/// threads different from call to call (with ONEDNN_MAX_CPU_ISA=AVX2 it is right). So the first
/// block's gradients differed between the copies, and with them the weights. The model here has
/// width 8, so its gradients are finite and right, and the weights are compared by their bits and
/// checked finite (NaN equals NaN under float.Equals, which would let two broken runs agree).
/// </summary>
public sealed class HeldScalarAdamWTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.05)]
    public void GivenTheSameGradientsItsStepsGiveBitForBitTheWeightsOfTorchSharpsAdamW(double weightDecay)
    {
        // Arrange, Act: five steps of each at changing learning rates.
        var (differing, moved) = StepBoth(weightDecay, referenceDecay: weightDecay, referenceLearningRateFactor: 1);

        // Assert: every weight moved to a finite value, and both optimisers moved it alike.
        Assert.True(moved, "a parameter did not move in five steps, or is not finite.");
        Assert.Empty(differing);
    }

    [Theory]
    [InlineData(1.01, 1.0)]
    [InlineData(1.0, 1.01)]
    public void TheComparisonNoticesADecayOrALearningRateOffByOnePercent(double decayFactor, double learningRateFactor)
    {
        // Arrange, Act: the reference gets a decay or learning rate 1 % off.
        var (differing, _) = StepBoth(0.05, referenceDecay: 0.05 * decayFactor, referenceLearningRateFactor: learningRateFactor);

        // Assert: the exact comparison above would fail for such a mistake.
        Assert.NotEmpty(differing);
    }

    [Fact]
    public void AStepHoldsEveryScalarItHandsToLibtorchWhileTheCollectorRuns()
    {
        // Arrange: a small model with gradients, stepped again and again (see ConstantCollection).
        using var scope = NewDisposeScope();
        manual_seed(7);
        using var model = nn.Linear(64, 64);
        using var optimizer = new HeldScalarAdamW(model.parameters().Select(p => (p, 0.01)));
        nn.functional.mse_loss(model.forward(randn(8, 64)), zeros(8, 64)).backward();

        // Act and assert: every step completes (an unheld Scalar throws from libtorch) and leaves finite weights.
        ConstantCollection.Run(8000, optimizer.Step);
        Assert.All(model.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }

    /// <summary>
    /// Five steps of ours and of TorchSharp's on two copies of one ConvNet; each step's gradients come
    /// from one backward pass of ours and are copied to the reference's parameters. Returns the
    /// parameters that differ afterwards (by their bits), and whether every parameter of ours moved
    /// and is finite.
    /// </summary>
    private static (List<string> Differing, bool Moved) StepBoth(double weightDecay, double referenceDecay, double referenceLearningRateFactor)
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var spec = ModelSpec.ForFashionMnist(ConvNet.Name, 8);
        using var ours = spec.Create();
        using var theirs = spec.Create();
        theirs.load_state_dict(ours.state_dict());
        var initial = ours.parameters().Select(p => p.detach().clone()).ToArray();
        using var held = new HeldScalarAdamW(ours.parameters().Select(p => (p, weightDecay)));
        using var reference = optim.AdamW(theirs.parameters(), 1e-3, weight_decay: referenceDecay);

        for (int step = 0; step < 5; step++)
        {
            var lr = 1e-3 * (step + 1);
            var x = randint(0, 256, [16, 1, 28, 28], ScalarType.Byte);
            var y = randint(0, 10, [16], ScalarType.Int64);
            held.LearningRate = lr;
            foreach (var group in reference.ParamGroups) group.LearningRate = lr * referenceLearningRateFactor;
            ours.zero_grad();
            nn.functional.cross_entropy(ours.forward(x), y).backward();
            foreach (var (a, b) in ours.parameters().Zip(theirs.parameters()))
                b.grad = a.grad!.clone();
            held.Step();
            reference.step();
        }

        var differing = ours.named_parameters().Zip(theirs.named_parameters())
            .Where(pair => !Bits(pair.First.parameter).SequenceEqual(Bits(pair.Second.parameter)))
            .Select(pair => pair.First.name)
            .ToList();
        var moved = ours.parameters().Zip(initial).All(pair =>
            pair.First.isfinite().all().item<bool>() && !Bits(pair.First).SequenceEqual(Bits(pair.Second)));
        return (differing, moved);
    }

    private static IEnumerable<int> Bits(Tensor t) => t.data<float>().ToArray().Select(BitConverter.SingleToInt32Bits);
}
