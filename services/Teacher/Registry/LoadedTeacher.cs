using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Options;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Registry;

/// <summary>
/// One teacher model ready to answer: its name, version (the checkpoint digest), spec, device and
/// the model in eval mode; a classifier (the project's own checkpoint, or a TorchScript file with
/// its sidecar), or a causal language model (<see cref="Language"/>).
/// A classifier may be held as several copies (<see cref="Instances"/>, like Triton's instance
/// group) so that several forwards run at once; each copy runs one forward at a time, because a
/// TorchSharp module is not safe for concurrent forward passes.
/// </summary>
public sealed class LoadedTeacher : IDisposable
{
    private readonly IReadOnlyList<nn.Module<Tensor, Tensor>> models;
    // One permit per copy; a forward holds one and takes a copy nobody else is running.
    private readonly SemaphoreSlim forwardGate;
    private readonly Stack<nn.Module<Tensor, Tensor>> idle;
    // Never disposed, so that Retired stays readable after the teacher is gone.
    private readonly CancellationTokenSource retired = new();

    /// <param name="models">The model, or several copies of it (one version, the same weights); a language model has one.</param>
    /// <param name="classNames">A classifier's class names, when its checkpoint gives them.</param>
    public LoadedTeacher(string name, string version, ModelSpec spec, Device device, IReadOnlyList<nn.Module<Tensor, Tensor>> models, int maxBatch,
        LanguageModel? language = null, IReadOnlyList<string>? classNames = null)
    {
        if (models.Count == 0) throw new ArgumentException("a teacher needs its model.", nameof(models));
        if (language is not null && models.Count > 1) throw new ArgumentException("a language model runs as one instance.", nameof(models));
        Name = name;
        Version = version;
        Spec = spec;
        Device = device;
        MaxBatch = maxBatch;
        Language = language;
        ClassNames = classNames;
        this.models = models;
        idle = new Stack<nn.Module<Tensor, Tensor>>(models);
        forwardGate = new SemaphoreSlim(models.Count, models.Count);
    }

    /// <summary>The language model with its tokenizer, for a causal-LM teacher; null for a classifier.</summary>
    public LanguageModel? Language { get; }

    /// <summary>A classifier's class names, in output order, when its checkpoint names them (a TorchScript sidecar does); else null.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

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

    /// <summary>Copies of the model: how many forwards of this teacher can run at once.</summary>
    public int Instances => models.Count;

    /// <summary>Copies not running a forward now.</summary>
    public int IdleInstances
    {
        get
        {
            lock (idle) return idle.Count;
        }
    }

    /// <summary>"cpu" or "cuda", as Describe reports it.</summary>
    public string DeviceName => Device.type == DeviceType.CUDA ? "cuda" : "cpu";

    /// <summary>Shape of one example, without the batch dimension (a language model: its longest sequence).</summary>
    public long[] ExampleShape => Language is { } lm ? [lm.ContextLength] : Spec.ExampleShape;

    /// <summary>Number of outputs per example (classes), or per position (the tokenizer's vocabulary) for a language model.</summary>
    public int NumOutputs => Language?.VocabularySize ?? Spec.Classes;

    /// <summary>The Teacher:DType it was loaded with (auto, float32, bfloat16, float16): a new version computes as it did.</summary>
    public string DTypeSetting { get; private init; } = TeacherOptions.AutoDType;

    /// <summary>
    /// Loads a checkpoint onto a device, as <paramref name="instances"/> copies, a Hugging Face model computing in
    /// <paramref name="dtype"/> (see <see cref="TeacherOptions.DType"/>); the version is the digest of the files (of a TorchScript file, of it and its sidecar).
    /// </summary>
    public static LoadedTeacher Load(string name, string checkpointPath, string device, int maxBatch, int instances = 1, string dtype = TeacherOptions.AutoDType)
    {
        return Load(name, checkpointPath, DeviceChoice.Resolve(device), maxBatch, instances, dtype);
    }

    /// <summary>Loads a checkpoint onto a device already resolved (a new version lands where the old one runs, as many copies, in the same dtype).</summary>
    /// <exception cref="InvalidDataException">
    /// the checkpoint cannot be read (a TorchScript file: or its sidecar, or they do not fit together), holds a
    /// language model and more than one instance is asked for, or is a classifier and a dtype other than float32 is asked for.
    /// </exception>
    public static LoadedTeacher Load(string name, string checkpointPath, Device device, int maxBatch, int instances = 1, string dtype = TeacherOptions.AutoDType)
    {
        var computeDType = ComputeDType(dtype);
        var isModelDirectory = HuggingFaceCheckpoint.IsModelDirectory(checkpointPath);
        // Else the file readers below would say "access denied" of a directory.
        if (!isModelDirectory && Directory.Exists(checkpointPath))
            throw new InvalidDataException($"{checkpointPath} is a directory without {LlamaConfig.FileName}, so not a Hugging Face model directory; a checkpoint is such a directory or a checkpoint file.");
        if (isModelDirectory)
        {
            if (instances > 1)
                throw new InvalidDataException($"{checkpointPath} holds a language model, which runs as one instance, not {instances}; set its Instances to 1.");
            var lm = HuggingFaceCheckpoint.Load(checkpointPath, device, computeDType);
            // The classifier spec only names the architecture and the sizes Describe reports.
            var described = new ModelSpec(lm.Model.Architecture, 0, 1, 1, lm.ContextLength, lm.VocabularySize);
            return new LoadedTeacher(name, lm.Version, described, device, [lm.Model], maxBatch, lm) { DTypeSetting = dtype };
        }
        RefuseDType(checkpointPath, dtype, computeDType);
        if (TorchScriptCheckpoint.IsTorchScript(checkpointPath))
        {
            var script = TorchScriptCheckpoint.LoadCopies(checkpointPath, device, instances);
            return new LoadedTeacher(name, script.Version, script.Spec, device, script.Models, maxBatch, classNames: script.Sidecar.ClassNames) { DTypeSetting = dtype };
        }
        var (spec, models, version) = Checkpoint.LoadCopies(checkpointPath, device, instances);
        return new LoadedTeacher(name, version, spec, device, models, maxBatch) { DTypeSetting = dtype };
    }

    // auto: float32 on a CPU, the weights' dtype elsewhere (HuggingFaceCheckpoint.Load decides).
    private static ScalarType? ComputeDType(string dtype) => dtype switch
    {
        TeacherOptions.AutoDType => null,
        "float32" => ScalarType.Float32,
        "bfloat16" => ScalarType.BFloat16,
        "float16" => ScalarType.Float16,
        _ => throw new InvalidDataException($"DType {dtype} is not one of auto, float32, bfloat16, float16."),
    };

    // Classifiers (the project's own checkpoints, TorchScript files) compute in float32; another dtype would be silently ignored.
    private static void RefuseDType(string checkpointPath, string dtype, ScalarType? computeDType)
    {
        if (computeDType is not (null or ScalarType.Float32))
            throw new InvalidDataException($"{checkpointPath} is a classifier checkpoint, which computes in float32; DType {dtype} is for Hugging Face model directories.");
    }

    /// <summary>
    /// A language model's targets for checked <paramref name="sequences"/>, each as its settings ask, in as few
    /// forwards as their lengths allow (<see cref="Distillation.Language.SequenceTargets.ComputeMany"/>);
    /// serialised with every other forward.
    /// </summary>
    public async Task<SequenceTargetBatch[]> ScoreSequencesAsync(IReadOnlyList<SequenceToScore> sequences, CancellationToken cancellationToken)
    {
        await forwardGate.WaitAsync(cancellationToken);
        return ScoreHoldingGate(sequences);
    }

    /// <summary>
    /// As <see cref="ScoreSequencesAsync"/>, synchronously on the calling thread (a batcher's): it waits
    /// for the model while another forward or generation run holds it.
    /// </summary>
    public SequenceTargetBatch[] ScoreSequences(IReadOnlyList<SequenceToScore> sequences)
    {
        forwardGate.Wait();
        return ScoreHoldingGate(sequences);
    }

    private SequenceTargetBatch[] ScoreHoldingGate(IReadOnlyList<SequenceToScore> sequences)
    {
        var model = TakeIdle(); // the language model's one copy
        try
        {
            var language = Language ?? throw new InvalidOperationException($"teacher '{Name}' is not a language model.");
            return Distillation.Language.SequenceTargets.ComputeMany(language, sequences);
        }
        finally
        {
            ReturnIdle(model);
        }
    }

    /// <summary>
    /// A running generation batch on this language model (see <see cref="ContinuousBatch"/>): run its
    /// <see cref="ContinuousBatch.Admit"/> and <see cref="ContinuousBatch.Forward"/> through <see cref="Exclusively{T}"/>.
    /// </summary>
    public ContinuousBatch NewGenerationBatch(bool sharePrompts)
    {
        var language = Language ?? throw new InvalidOperationException($"teacher '{Name}' is not a language model.");
        return new ContinuousBatch(language.Model, language.VocabularySize, language.Special.EndOfSequence, sharePrompts);
    }

    /// <summary>
    /// Runs <paramref name="work"/> (one step of a generation batch) on the language model, serialised with every
    /// other forward. The model is held for this step alone, so other forwards (SoftTargets) run between a
    /// generation's steps instead of waiting for all of it. Synchronous: it holds its thread while it runs.
    /// </summary>
    public T Exclusively<T>(Func<T> work)
    {
        forwardGate.Wait();
        var model = TakeIdle(); // the language model's one copy
        try
        {
            return work();
        }
        finally
        {
            ReturnIdle(model);
        }
    }

    /// <summary>
    /// log_softmax(logits / T) of a well-formed batch of inputs, as little-endian bytes of
    /// <paramref name="outputDType"/>, row-major [B, NumOutputs].
    /// </summary>
    public async Task<byte[]> LogProbsAsync(WireTensor inputs, float temperature, WireDType outputDType, CancellationToken cancellationToken)
    {
        await forwardGate.WaitAsync(cancellationToken);
        var model = TakeIdle();
        try
        {
            return Forward(model, inputs, temperature, outputDType);
        }
        finally
        {
            ReturnIdle(model);
        }
    }

    // Synchronous on purpose: dispose scopes belong to a thread, so nothing is awaited in here and
    // only plain bytes leave the scope.
    private byte[] Forward(nn.Module<Tensor, Tensor> model, WireTensor inputs, float temperature, WireDType outputDType)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = TensorCodec.Decode(inputs).to(Device);
        var logProbs = SoftTargets.LogProbabilities(model.forward(x), temperature);
        var cpu = logProbs.to(TensorCodec.ToScalarType(outputDType), CPU).contiguous();
        var bytes = new byte[cpu.NumberOfElements * outputDType.ElementSize()];
        TensorCodec.CopyBytes(cpu, bytes);
        return bytes;
    }

    /// <summary>
    /// The model's raw outputs [B, NumOutputs], on this teacher's device, for a batch already
    /// built on the CPU; on a copy of the model no other forward is running. Synchronous: call it
    /// inside the caller's dispose scope and no_grad, on one thread.
    /// </summary>
    public Tensor Logits(Tensor inputs)
    {
        forwardGate.Wait();
        var model = TakeIdle();
        try
        {
            return model.forward(inputs.to(Device));
        }
        finally
        {
            ReturnIdle(model);
        }
    }

    // After a permit of the gate: there is a copy for it.
    private nn.Module<Tensor, Tensor> TakeIdle()
    {
        lock (idle) return idle.Pop();
    }

    private void ReturnIdle(nn.Module<Tensor, Tensor> model)
    {
        lock (idle) idle.Push(model);
        forwardGate.Release();
    }

    /// <summary>Cancelled when this version is disposed, so that what was built around it (its batcher) stops too.</summary>
    public CancellationToken Retired => retired.Token;

    public void Dispose()
    {
        retired.Cancel();
        // Waits for every forward in flight, so no copy is freed under one.
        for (int i = 0; i < models.Count; i++) forwardGate.Wait();
        foreach (var model in models) model.Dispose();
        forwardGate.Dispose();
    }
}
