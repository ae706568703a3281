using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter 2019; PyTorch's update, decoupled weight decay) whose every Scalar
/// is held for the whole step. TorchSharp's own <c>optim.AdamW</c> passes implicitly converted
/// numbers (<c>add_(eps)</c>, <c>/ Math.Sqrt(...)</c>), which the finalizer may free while libtorch
/// still reads them (see <see cref="TorchScalars"/>); language-model steps allocate large arrays
/// of targets, so garbage collections, and with them that failure ("Expected false to be true" in
/// <c>Scalar::toFloat</c>), came within a few hundred steps, and a 100-epoch classifier run died of
/// it at epoch 19. Both kinds of run use this one. It runs the operations of TorchSharp's step in the
/// same order with Scalars of the same values, so from the same gradients its updates are bit for
/// bit TorchSharp's. Each parameter has its own weight decay: nanoGPT decays
/// matrices and embeddings, not biases and norms.
/// </summary>
public sealed class HeldScalarAdamW : IDisposable
{
    private readonly Parameter[] parameters;
    private readonly double[] weightDecays;
    private readonly Tensor[] firstMoments;   // exp_avg
    private readonly Tensor[] secondMoments;  // exp_avg_sq
    private readonly double beta1, beta2, epsilon;

    /// <summary>An optimiser for <paramref name="parameters"/>, each with its weight decay.</summary>
    public HeldScalarAdamW(IEnumerable<(Parameter Parameter, double WeightDecay)> parameters, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        var list = parameters.ToArray();
        this.parameters = list.Select(p => p.Parameter).ToArray();
        weightDecays = list.Select(p => p.WeightDecay).ToArray();
        firstMoments = this.parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        secondMoments = this.parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        (this.beta1, this.beta2, this.epsilon) = (beta1, beta2, epsilon);
    }

    /// <summary>Steps taken (the bias corrections depend on it).</summary>
    public long Steps { get; private set; }

    /// <summary>The learning rate of the next step.</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>One update of every parameter that has a gradient.</summary>
    public void Step()
    {
        Steps++;
        double correction1 = 1 - Math.Pow(beta1, Steps), correction2 = 1 - Math.Pow(beta2, Steps);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var b1 = beta1.ToScalar();
        using var oneMinusB1 = (1 - beta1).ToScalar();
        using var b2 = beta2.ToScalar();
        using var oneMinusB2 = (1 - beta2).ToScalar();
        using var eps = epsilon.ToScalar();
        using var sqrtCorrection2 = Math.Sqrt(correction2).ToScalar();
        using var negativeStepSize = (-LearningRate / correction1).ToScalar();
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            var grad = p.grad;
            if (grad is null) continue;
            if (weightDecays[i] > 0)
            {
                using var decay = (1 - LearningRate * weightDecays[i]).ToScalar();
                p.mul_(decay);
            }
            firstMoments[i].mul_(b1).add_(grad, alpha: oneMinusB1);
            secondMoments[i].mul_(b2).addcmul_(grad, grad, value: oneMinusB2);
            var denominator = secondMoments[i].sqrt().div_(sqrtCorrection2).add_(eps, TorchScalars.One); // with its alpha held (see TorchScalars)
            p.addcdiv_(firstMoments[i], denominator, value: negativeStepSize);
        }
    }

    /// <summary>Writes the step count and both moments of every parameter.</summary>
    public void Save(BinaryWriter writer)
    {
        writer.Write(Steps);
        writer.Write(parameters.Length);
        for (int i = 0; i < parameters.Length; i++)
        {
            firstMoments[i].Save(writer);
            secondMoments[i].Save(writer);
        }
    }

    /// <summary>Reads what <see cref="Save"/> wrote, for the same parameters.</summary>
    /// <exception cref="InvalidDataException">the saved state is for another number of parameters.</exception>
    public void Load(BinaryReader reader)
    {
        var steps = reader.ReadInt64();
        var count = reader.ReadInt32();
        if (count != parameters.Length)
            throw new InvalidDataException($"the optimiser state holds {count} parameters, the model has {parameters.Length}.");
        for (int i = 0; i < count; i++)
        {
            firstMoments[i].Load(reader);
            secondMoments[i].Load(reader);
        }
        Steps = steps;
    }

    public void Dispose()
    {
        foreach (var t in firstMoments.Concat(secondMoments)) t.Dispose();
    }
}
