using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Training;

/// <summary>
/// Soft targets from a teacher model in this process: the reference a served teacher is
/// measured against, and a teacher for tests and benchmarks that need no service.
/// </summary>
public sealed class ModelSoftTargetSource(string name, string version, ModelSpec spec, nn.Module<Tensor, Tensor> model, double temperature)
    : ISoftTargetSource, IDisposable
{
    private readonly Lock forward = new();

    /// <summary>Loads a checkpoint; its digest is the version.</summary>
    public static ModelSoftTargetSource FromCheckpoint(string name, string path, double temperature, Device device)
    {
        var (spec, model, version) = Checkpoint.LoadVersioned(path, device);
        return new ModelSoftTargetSource(name, version, spec, model, temperature);
    }

    /// <summary>How many batches were asked for.</summary>
    public int Requests { get; private set; }

    public Task<TeacherIdentity> DescribeAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new TeacherIdentity(name, version, spec.Classes));

    public Task<SoftTargetBatch> GetAsync(ReadOnlyMemory<byte> pixels, int count, CancellationToken cancellationToken)
    {
        lock (forward)
        {
            Requests++;
            return Task.FromResult(new SoftTargetBatch(LogProbs(pixels.Span, count), count, spec.Classes, version));
        }
    }

    /// <summary>log_softmax(model(pixels) / T) as row-major floats [count, classes].</summary>
    public float[] LogProbs(ReadOnlySpan<byte> pixels, int count)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        var device = model.parameters().First().device;
        var x = tensor(pixels.ToArray(), ScalarType.Byte).reshape([count, .. spec.ExampleShape]).to(device);
        var logProbs = SoftTargets.LogProbabilities(model.forward(x), temperature);
        return logProbs.cpu().data<float>().ToArray();
    }

    /// <summary>Frees the model's native memory.</summary>
    public void Dispose() => model.Dispose();
}
