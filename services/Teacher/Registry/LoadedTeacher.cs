using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Wire;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Registry;

/// <summary>
/// One teacher model ready to answer: its name, version (the checkpoint digest), spec, device and
/// the model in eval mode; a classifier, or a causal language model (<see cref="Language"/>).
/// Forwards are serialised, because a TorchSharp module is not safe for concurrent forward passes.
/// </summary>
public sealed class LoadedTeacher : IDisposable
{
    private readonly nn.Module<Tensor, Tensor> model;
    private readonly SemaphoreSlim forwardGate = new(1, 1);
    // Never disposed, so that Retired stays readable after the teacher is gone.
    private readonly CancellationTokenSource retired = new();

    public LoadedTeacher(string name, string version, ModelSpec spec, Device device, nn.Module<Tensor, Tensor> model, int maxBatch,
        LanguageModel? language = null)
    {
        Name = name;
        Version = version;
        Spec = spec;
        Device = device;
        MaxBatch = maxBatch;
        Language = language;
        this.model = model;
    }

    /// <summary>The language model with its tokenizer, for a causal-LM teacher; null for a classifier.</summary>
    public LanguageModel? Language { get; }

    /// <summary>The name callers ask for.</summary>
    public string Name { get; }

    /// <summary>Digest of the checkpoint: changes whenever the weights do.</summary>
    public string Version { get; }

    /// <summary>Architecture, width and input/output shape of the model.</summary>
    public ModelSpec Spec { get; }

    /// <summary>Where the model runs.</summary>
    public Device Device { get; }

    /// <summary>Largest number of examples one request may carry.</summary>
    public int MaxBatch { get; }

    /// <summary>"cpu" or "cuda", as Describe reports it.</summary>
    public string DeviceName => Device.type == DeviceType.CUDA ? "cuda" : "cpu";

    /// <summary>Shape of one example, without the batch dimension (a language model: its longest sequence).</summary>
    public long[] ExampleShape => Language is { } lm ? [lm.Spec.ContextLength] : Spec.ExampleShape;

    /// <summary>Number of outputs per example (classes), or per position (the tokenizer's vocabulary) for a language model.</summary>
    public int NumOutputs => Language?.VocabularySize ?? Spec.Classes;

    /// <summary>Loads a checkpoint onto a device; the version is the digest of the file.</summary>
    public static LoadedTeacher Load(string name, string checkpointPath, string device, int maxBatch)
    {
        return Load(name, checkpointPath, DeviceChoice.Resolve(device), maxBatch);
    }

    /// <summary>Loads a checkpoint onto a device already resolved (a new version lands where the old one runs).</summary>
    public static LoadedTeacher Load(string name, string checkpointPath, Device device, int maxBatch)
    {
        if (LanguageModelCheckpoint.IsLanguageModel(checkpointPath))
        {
            var lm = LanguageModelCheckpoint.Load(checkpointPath, device);
            // The classifier spec only names the architecture and the sizes Describe reports.
            var described = new ModelSpec(Gpt.ArchitectureName, lm.Spec.Width, 1, 1, lm.Spec.ContextLength, lm.VocabularySize);
            return new LoadedTeacher(name, lm.Version, described, device, lm.Model, maxBatch, lm);
        }
        var (spec, model, version) = Checkpoint.LoadVersioned(checkpointPath, device);
        return new LoadedTeacher(name, version, spec, device, model, maxBatch);
    }

    /// <summary>
    /// A language model's targets for <paramref name="sequences"/> sequences of <paramref name="length"/>
    /// checked token ids, as <paramref name="settings"/> ask; serialised with every other forward.
    /// </summary>
    public async Task<SequenceTargetBatch> SequenceTargetsAsync(int[] tokens, int sequences, int length, SequenceTargetSettings settings,
        CancellationToken cancellationToken)
    {
        var language = Language ?? throw new InvalidOperationException($"teacher '{Name}' is not a language model.");
        await forwardGate.WaitAsync(cancellationToken);
        try
        {
            return Distillation.Language.SequenceTargets.Compute(language, tokens, sequences, length, settings);
        }
        finally
        {
            forwardGate.Release();
        }
    }

    /// <summary>
    /// A language model's continuations of <paramref name="rows"/> (see <see cref="BatchGenerator"/>),
    /// serialised with every other forward. Synchronous: it holds its thread for the whole run.
    /// </summary>
    public GenerationResult[] Generate(IReadOnlyList<GenerationRow> rows, Func<int, IReadOnlyList<int>, bool>? stop, CancellationToken cancellationToken)
    {
        var language = Language ?? throw new InvalidOperationException($"teacher '{Name}' is not a language model.");
        forwardGate.Wait(cancellationToken);
        try
        {
            return BatchGenerator.Generate(language.Model, language.VocabularySize, rows, stop, cancellationToken);
        }
        finally
        {
            forwardGate.Release();
        }
    }

    /// <summary>
    /// log_softmax(logits / T) of a well-formed batch of inputs, as little-endian bytes of
    /// <paramref name="outputDType"/>, row-major [B, NumOutputs].
    /// </summary>
    public async Task<byte[]> LogProbsAsync(WireTensor inputs, float temperature, WireDType outputDType, CancellationToken cancellationToken)
    {
        await forwardGate.WaitAsync(cancellationToken);
        try
        {
            return Forward(inputs, temperature, outputDType);
        }
        finally
        {
            forwardGate.Release();
        }
    }

    // Synchronous on purpose: dispose scopes belong to a thread, so nothing is awaited in here and
    // only plain bytes leave the scope.
    private byte[] Forward(WireTensor inputs, float temperature, WireDType outputDType)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = TensorCodec.Decode(inputs).to(Device);
        using var t = temperature.ToScalar(); // held until the call returns (see TorchScalars)
        var logProbs = nn.functional.log_softmax(model.forward(x).div(t), 1);
        var cpu = logProbs.to(TensorCodec.ToScalarType(outputDType), CPU).contiguous();
        var bytes = new byte[cpu.NumberOfElements * outputDType.ElementSize()];
        TensorCodec.CopyBytes(cpu, bytes);
        return bytes;
    }

    /// <summary>
    /// The model's raw outputs [B, NumOutputs], on this teacher's device, for a batch already
    /// built on the CPU; serialised with every other forward of this teacher. Synchronous: call it
    /// inside the caller's dispose scope and no_grad, on one thread.
    /// </summary>
    public Tensor Logits(Tensor inputs)
    {
        forwardGate.Wait();
        try
        {
            return model.forward(inputs.to(Device));
        }
        finally
        {
            forwardGate.Release();
        }
    }

    /// <summary>Cancelled when this version is disposed, so that what was built around it (its batcher) stops too.</summary>
    public CancellationToken Retired => retired.Token;

    public void Dispose()
    {
        retired.Cancel();
        // Waits for a forward in flight, so the model is never freed under it.
        forwardGate.Wait();
        model.Dispose();
        forwardGate.Dispose();
    }
}
