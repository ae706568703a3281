using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Language;

/// <summary>KL of the teacher from what a student rebuilds, against values worked out by hand.</summary>
public sealed class TargetFidelityTests
{
    private static readonly double[] P = [0.5, 0.3, 0.15, 0.05];

    private static Tensor Teacher() => tensor(P.Select(p => Math.Log(p)).ToArray(), [1, 4]);

    private static float Log(double p) => (float)Math.Log(p);

    [Fact]
    public void DenseTargetsSentWholeLoseNothing()
    {
        using var scope = NewDisposeScope();
        var received = new SequenceTargetBatch(1, 1, 4, new SequenceTargetSettings(1f), [.. P.Select(Log)], null, null, "v");

        Assert.Equal(0, TargetFidelity.MeanKl(Teacher(), received), 6);
    }

    [Fact]
    public void TopTwoSpreadTheirTailEvenlyOverTheOtherTwoTokens()
    {
        // Rebuilt: [0.5, 0.3, 0.1, 0.1]; KL = 0.15 ln(0.15/0.1) + 0.05 ln(0.05/0.1) = 0.026162.
        using var scope = NewDisposeScope();
        var received = new SequenceTargetBatch(1, 1, 4, new SequenceTargetSettings(1f, 2), [Log(0.5), Log(0.3)], [0, 1], [Log(0.2)], "v");

        Assert.Equal(0.15 * Math.Log(1.5) + 0.05 * Math.Log(0.5), TargetFidelity.MeanKl(Teacher(), received), 5);
    }

    [Fact]
    public void SampledTokensKeepTheirSentValuesAndTheUnseenShareTheRest()
    {
        // Drawn 0, 2, 0: known 0.5 and 0.15; 0.35 left over tokens 1 and 3: [0.5, 0.175, 0.15, 0.175].
        using var scope = NewDisposeScope();
        var received = new SequenceTargetBatch(1, 1, 4, new SequenceTargetSettings(1f, 3, SparseTargetKind.Sampled),
            [Log(0.5), Log(0.15), Log(0.5)], [0, 2, 0], null, "v");

        Assert.Equal(0.3 * Math.Log(0.3 / 0.175) + 0.05 * Math.Log(0.05 / 0.175), TargetFidelity.MeanKl(Teacher(), received), 5);
    }

    [Fact]
    public void TopKOfTheWholeVocabularyLosesNothing()
    {
        using var scope = NewDisposeScope();
        var received = new SequenceTargetBatch(1, 1, 4, new SequenceTargetSettings(1f, 4), [.. P.Select(Log)], [0, 1, 2, 3], [float.NegativeInfinity], "v");

        Assert.Equal(0, TargetFidelity.MeanKl(Teacher(), received), 6);
    }
}
