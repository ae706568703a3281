using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Losses;

public sealed class SoftTargetsTests
{
    [Fact]
    public void LogProbabilitiesAreTheLogSoftmaxOfTheLogitsDividedByTheTemperature()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new double[] { 2, 0, -2 }).reshape(1, 3);

        var logProbs = SoftTargets.LogProbabilities(logits, temperature: 2).data<double>().ToArray();

        // By hand: z / T = (1, 0, -1); log(e + 1 + 1/e) = log 4.0861612696 = 1.4076059644; each
        // log-probability is z_i / T minus that.
        Assert.Equal(-0.4076059644, logProbs[0], 1e-9);
        Assert.Equal(-1.4076059644, logProbs[1], 1e-9);
        Assert.Equal(-2.4076059644, logProbs[2], 1e-9);
    }

    [Fact]
    public void ALanguageModelsLogitsAreNormalisedOverTheVocabularyTheirLastDimension()
    {
        using var scope = NewDisposeScope();
        // [B = 1, L = 2, V = 3]: at T = 0.5 the first position's z / T is (0, log 3, log 4), so its
        // probabilities are (1, 3, 4) / 8; the second position's, all equal, gives 1/3 each.
        var logits = tensor(new double[] { 0, Math.Log(3) / 2, Math.Log(4) / 2, 7, 7, 7 }).reshape(1, 2, 3);

        var logProbs = SoftTargets.LogProbabilities(logits, temperature: 0.5);

        Assert.Equal(new long[] { 1, 2, 3 }, logProbs.shape);
        var values = logProbs.data<double>().ToArray();
        Assert.Equal(Math.Log(1.0 / 8), values[0], 1e-12);
        Assert.Equal(Math.Log(3.0 / 8), values[1], 1e-12);
        Assert.Equal(Math.Log(4.0 / 8), values[2], 1e-12);
        Assert.All(values[3..], v => Assert.Equal(-Math.Log(3), v, 1e-12));
    }

    [Fact]
    public void EachRowGetsItsOwnTemperatureAndRowsDoNotMix()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new double[] { 2, 0, -2, 2, 0, -2 }).reshape(2, 3);
        var temperatures = tensor(new double[] { 2, 1 }).reshape(2, 1);

        var logProbs = SoftTargets.LogProbabilities(logits, temperatures).data<double>().ToArray();

        // Row 0 at T = 2 as above; row 1 at T = 1: log(e^2 + 1 + e^-2) = 2.1429316285.
        Assert.Equal(-0.4076059644, logProbs[0], 1e-9);
        Assert.Equal(-2.4076059644, logProbs[2], 1e-9);
        Assert.Equal(2 - 2.1429316285, logProbs[3], 1e-9);
        Assert.Equal(-2 - 2.1429316285, logProbs[5], 1e-9);
    }
}
