using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Language;

/// <summary>The language-model objective against values worked out by hand.</summary>
public sealed class SequenceObjectiveTests
{
    // One position, three tokens. Student logits z = [1, 2, 3]; at T = 2, q = softmax(z / 2)
    // = [0.186324, 0.307196, 0.506480]. Teacher at T = 2: p = [0.5, 0.3, 0.2]. Real next token 0.
    // KL(p || q) = sum p ln(p / q) = 0.300617; CE = ln(e + e^2 + e^3) - 1 = 2.407606.
    private static readonly float[] Logits = [1, 2, 3];
    private static readonly double[] P = [0.5, 0.3, 0.2];

    private static SequenceTargetBatch Dense() =>
        new(1, 1, 3, new SequenceTargetSettings(2f), [.. P.Select(p => (float)Math.Log(p))], null, null, "v");

    [Fact]
    public void TheObjectiveIsAlphaTSquaredTimesTheDivergencePlusTheRestOnCrossEntropy()
    {
        using var scope = NewDisposeScope();
        var objective = new SequenceObjective(new ForwardKl(), temperature: 2, alpha: 0.25, vocabularySize: 3);

        var loss = objective.Compute(tensor(Logits, [1, 3]), Dense(), tensor(new long[] { 0 }));

        // 0.25 * 4 * 0.300617 + 0.75 * 2.407606 = 2.106321
        Assert.Equal(2.106321, loss.item<float>(), 5);
    }

    [Fact]
    public void WithoutATeacherItIsCrossEntropyOnTheNextTokens()
    {
        using var scope = NewDisposeScope();
        var objective = new SequenceObjective(new ForwardKl(), temperature: 2, alpha: 0.25, vocabularySize: 3);

        var loss = objective.Compute(tensor(Logits, [1, 3]), null, tensor(new long[] { 0 }));

        Assert.Equal(2.407606, loss.item<float>(), 5);
    }

    [Fact]
    public void TopOneTargetsAreExactOverTheTokenAndTheTailBucket()
    {
        // Teacher: token 0 with 0.5, the tail with 0.5; student: 0.186324 and 0.813676.
        // KL = 0.5 ln(0.5 / 0.186324) + 0.5 ln(0.5 / 0.813676) = 0.250084; times T^2 = 4: 1.000336.
        using var scope = NewDisposeScope();
        var objective = new SequenceObjective(new ForwardKl(), temperature: 2, alpha: 1, vocabularySize: 3);
        var top = new SequenceTargetBatch(1, 1, 3, new SequenceTargetSettings(2f, 1), [(float)Math.Log(0.5)], [0], [(float)Math.Log(0.5)], "v");

        var loss = objective.Distillation(tensor(Logits, [1, 3]), top);

        Assert.Equal(1.000336, loss.item<float>(), 5);
    }

    [Fact]
    public void APaddedOutputIsCutBackToTheTokenizersVocabulary()
    {
        using var scope = NewDisposeScope();
        var objective = new SequenceObjective(new ForwardKl(), temperature: 1, alpha: 1, vocabularySize: 3);
        var padded = tensor(new float[] { 1, 2, 3, 50, 60, 4, 5, 6, 70, 80 }, [1, 2, 5]);

        var positions = objective.Positions(padded);

        Assert.Equal([2L, 3L], positions.shape);
        Assert.Equal([1f, 2, 3, 4, 5, 6], positions.data<float>().ToArray());
    }
}
