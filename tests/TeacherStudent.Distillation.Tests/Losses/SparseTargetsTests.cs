using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Losses;

public sealed class SparseTargetsTests
{
    [Fact]
    public void TopKKeepsTheMostProbableTokensAndTheLogOfTheRestOfTheMass()
    {
        using var scope = NewDisposeScope();
        var teacher = tensor(Reference.Logs([0.15, 0.5, 0.05, 0.3])).reshape(1, 4);

        var targets = SparseTargets.TopK(teacher, 2);

        Assert.Equal(SparseTargetKind.TopK, targets.Kind);
        Assert.Equal(new long[] { 1, 3 }, targets.Ids.data<long>().ToArray());
        var logProbs = targets.LogProbs.data<double>().ToArray();
        Assert.Equal(Math.Log(0.5), logProbs[0], 1e-12);
        Assert.Equal(Math.Log(0.3), logProbs[1], 1e-12);
        Assert.Equal(Math.Log(0.15 + 0.05), targets.TailLogMass!.item<double>(), 1e-12);
    }

    [Fact]
    public void TopKOfTheWholeVocabularyLeavesNoTail()
    {
        using var scope = NewDisposeScope();
        var teacher = tensor(Reference.Logs([0.2, 0.8])).reshape(1, 2);

        var targets = SparseTargets.TopK(teacher, 2);

        Assert.Equal(double.NegativeInfinity, targets.TailLogMass!.item<double>());
    }

    [Fact]
    public void TheForwardKlOfTopKTargetsIsTheKlOfTheKeptTokensAndOneTailBucket()
    {
        using var scope = NewDisposeScope();
        var teacher = tensor(Reference.Logs([0.5, 0.3, 0.15, 0.05])).reshape(1, 4);
        var student = tensor(Reference.Logs([0.1, 0.2, 0.3, 0.4])).reshape(1, 4);

        var divergence = new ForwardKl().Divergence(SparseTargets.TopK(teacher, 2), student).item<double>();

        // Buckets {0}, {1}, {2, 3}: teacher [0.5, 0.3, 0.2], student [0.1, 0.2, 0.7].
        Assert.Equal(0.5 * Math.Log(0.5 / 0.1) + 0.3 * Math.Log(0.3 / 0.2) + 0.2 * Math.Log(0.2 / 0.7), divergence, 1e-12);
    }

    [Fact]
    public void TopKTargetsFromTheWireMayHoldSmallIntegerIdsInAnyOrderAndSinglePrecisionValues()
    {
        using var scope = NewDisposeScope();
        var ids = tensor(new short[] { 2, 0 }).reshape(1, 2);
        var logProbs = tensor(new[] { MathF.Log(0.15f), MathF.Log(0.5f) }).reshape(1, 2);
        var tail = tensor(new[] { MathF.Log(0.35f) });
        var student = tensor(Reference.Logs([0.1, 0.2, 0.3, 0.4])).reshape(1, 4);

        var divergence = new ReverseKl().Divergence(SparseTargets.FromTopK(ids, logProbs, tail), student).item<double>();

        // Buckets {2}, {0}, {1, 3}: teacher [0.15, 0.5, 0.35], student [0.3, 0.1, 0.6]; KL(student || teacher).
        Assert.Equal(0.3 * Math.Log(0.3 / 0.15) + 0.1 * Math.Log(0.1 / 0.5) + 0.6 * Math.Log(0.6 / 0.35), divergence, 1e-6);
    }

    [Fact]
    public void SampleDrawsEachTokenAsOftenAsTheTeacherGivesItAndKeepsItsLogProbability()
    {
        using var scope = NewDisposeScope();
        double[] p = [0.6, 0.3, 0.1, 0];
        var teacher = tensor(Reference.Logs(p)).reshape(1, 4);

        var targets = SparseTargets.Sample(teacher, 20_000, new Generator(11, CPU));

        Assert.Equal(SparseTargetKind.Sampled, targets.Kind);
        Assert.Null(targets.TailLogMass);
        var ids = targets.Ids.data<long>().ToArray();
        for (int token = 0; token < 4; token++)
            Assert.Equal(p[token], ids.Count(id => id == token) / 20_000.0, 0.01);
        var logProbs = targets.LogProbs.data<double>().ToArray();
        for (int i = 0; i < ids.Length; i++) Assert.Equal(Math.Log(p[ids[i]]), logProbs[i]);
    }

    [Fact]
    public void SampleWithTheSameSeedDrawsTheSameTokens()
    {
        using var scope = NewDisposeScope();
        var teacher = tensor(Reference.Logs([0.25, 0.25, 0.25, 0.25])).reshape(2, 2).log_softmax(1);

        var first = SparseTargets.Sample(teacher, 16, new Generator(3, CPU)).Ids.data<long>().ToArray();
        var second = SparseTargets.Sample(teacher, 16, new Generator(3, CPU)).Ids.data<long>().ToArray();

        Assert.Equal(first, second);
    }

    [Fact]
    public void ReconstructingTopKSpreadsTheTailEvenlyOverTheOtherTokens()
    {
        using var scope = NewDisposeScope();
        var teacher = tensor(Reference.Logs([0.3, 0.05, 0.5, 0.15])).reshape(1, 4);

        var reconstructed = SparseTargets.TopK(teacher, 2).Reconstruct(4).exp().data<double>().ToArray();

        // Kept: 0.3 and 0.5; the other 0.2 goes half to each of tokens 1 and 3.
        double[] expected = [0.3, 0.1, 0.5, 0.1];
        for (int v = 0; v < 4; v++) Assert.Equal(expected[v], reconstructed[v], 1e-12);
    }

    [Fact]
    public void ReconstructingTopKOfTheWholeVocabularyGivesTheTeacherBack()
    {
        using var scope = NewDisposeScope();
        double[] p = [0.3, 0.05, 0.5, 0.15];

        var reconstructed = SparseTargets.TopK(tensor(Reference.Logs(p)).reshape(1, 4), 4).Reconstruct(4).exp().data<double>().ToArray();

        for (int v = 0; v < 4; v++) Assert.Equal(p[v], reconstructed[v], 1e-12);
    }

    [Fact]
    public void ReconstructingSampledTargetsGivesEachTokenItsShareOfTheDraws()
    {
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 0, 2, 0, 1 }).reshape(1, 4);
        var targets = SparseTargets.FromSamples(ids, tensor(Reference.Logs([0.4, 0.3, 0.4, 0.3])).reshape(1, 4));

        var reconstructed = targets.Reconstruct(4).data<double>().ToArray();

        Assert.Equal(Math.Log(0.5), reconstructed[0], 1e-12);
        Assert.Equal(Math.Log(0.25), reconstructed[1], 1e-12);
        Assert.Equal(Math.Log(0.25), reconstructed[2], 1e-12);
        Assert.Equal(double.NegativeInfinity, reconstructed[3]);
    }

    [Fact]
    public void TargetsWithMismatchedPartsAreRejected()
    {
        using var scope = NewDisposeScope();
        var ids = zeros(3, 2, dtype: ScalarType.Int64);

        var values = Assert.Throws<ArgumentException>(() => SparseTargets.FromSamples(ids, zeros(3, 3)));
        var tail = Assert.Throws<ArgumentException>(() => SparseTargets.FromTopK(ids, zeros(3, 2), zeros(2)));
        var floatIds = Assert.Throws<ArgumentException>(() => SparseTargets.FromSamples(zeros(3, 2), zeros(3, 2)));
        var k = Assert.Throws<ArgumentOutOfRangeException>(() => SparseTargets.TopK(zeros(3, 4), 5));

        Assert.Contains("[3, 2]", values.Message);
        Assert.Contains("one value per position", tail.Message);
        Assert.Contains("integers", floatIds.Message);
        Assert.Contains("between 1 and the vocabulary size 4", k.Message);
    }
}
