using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Registry;

namespace TeacherStudent.Teacher.Rpc;

/// <summary>
/// Checks one SoftTargets request against the teacher it names. A bad request becomes a
/// <see cref="BatchError"/> with a google.rpc code and one plain sentence: what was wrong and
/// what is allowed.
/// </summary>
public static class SoftTargetsRequestValidator
{
    /// <summary>Input element types a classifier teacher accepts.</summary>
    public static readonly IReadOnlyList<WireDType> InputDTypes = [WireDType.Float32, WireDType.UInt8];

    /// <summary>
    /// Lowest temperature accepted, for every teacher. At T = 0.01 two classes whose logits are 0.9
    /// apart already differ by e^90 in probability, past what float32 holds (its smallest normal
    /// number is about e^-87): a smaller T gives nothing softer, only logits / T that overflow to
    /// infinity once T is tiny, and rows of NaN with them.
    /// </summary>
    public const float MinTemperature = 0.01f;

    /// <summary>
    /// Highest temperature accepted: at T = 100 logits 10 apart differ by a tenth in probability,
    /// every class about as likely as any other (the same bound as Generate's).
    /// </summary>
    public const float MaxTemperature = 100f;

    /// <summary>
    /// Validates <paramref name="request"/> against <paramref name="teacher"/>, the version the
    /// caller already holds (null when the registry has no teacher of that name); exactly one of
    /// the two outs is set. <paramref name="askedAs"/> is the name messages give the teacher when the
    /// request names another (an ensemble checked against one of its members).
    /// </summary>
    public static bool TryValidate(SoftTargetsRequest request, LoadedTeacher? teacher, KnownTeachers names,
        [NotNullWhen(true)] out ValidatedBatch? batch, [NotNullWhen(false)] out BatchError? error, string? askedAs = null)
    {
        batch = null;
        error = Check(request, teacher, names, askedAs, out batch);
        return error is null;
    }

    /// <summary>
    /// Validates <paramref name="request"/>, a batch sent as example digests, against
    /// <paramref name="teacher"/> (null when the registry has no teacher of that name); exactly one
    /// of the two outs is set. <paramref name="askedAs"/> as for <see cref="TryValidate"/>.
    /// </summary>
    public static bool TryValidateLookup(SoftTargetsRequest request, LoadedTeacher? teacher, KnownTeachers names,
        [NotNullWhen(true)] out ValidatedLookup? lookup, [NotNullWhen(false)] out BatchError? error, string? askedAs = null)
    {
        lookup = null;
        error = CheckLookup(request, teacher, names, askedAs, out lookup);
        return error is null;
    }

    private static BatchError? Check(SoftTargetsRequest request, LoadedTeacher? teacher, KnownTeachers names, string? askedAs, out ValidatedBatch? batch)
    {
        batch = null;
        if (CheckShape(request, teacher, names, askedAs, out var shape, out var inputDType) is { } badShape) return badShape;
        var wire = new WireTensor(shape!, inputDType, request.Inputs.Data.Memory);
        if (wire.Validate() is { } malformed)
            return Invalid($"the inputs are malformed: {malformed}");
        if (CheckTemperatureAndOutput(request, out var temperature, out var outputDType) is { } unusable) return unusable;
        if (inputDType == WireDType.Float32 && CheckPixelRange(wire) is { } outside) return outside;

        batch = new ValidatedBatch(teacher!, wire, (int)shape![0], temperature, outputDType, request.Uncached);
        return null;
    }

    private static BatchError? CheckLookup(SoftTargetsRequest request, LoadedTeacher? teacher, KnownTeachers names, string? askedAs, out ValidatedLookup? lookup)
    {
        lookup = null;
        if (CheckShape(request, teacher, names, askedAs, out var shape, out var inputDType) is { } badShape) return badShape;
        if (!request.Inputs.Data.IsEmpty)
            return Invalid("the batch carries both example_digests and input data; send one of the two (inputs then give only shape and dtype).");
        if (request.Uncached)
            return Invalid("the batch is uncached and carries example_digests, which are answered from the cache alone; send the examples' bytes for an uncached batch.");
        var count = (int)shape![0];
        var digests = request.ExampleDigests.Memory;
        if (digests.Length != count * ExampleDigests.Size)
            return Invalid($"example_digests holds {digests.Length} bytes but the inputs' shape names {count} examples; send {ExampleDigests.Size} bytes (a SHA-256) per example, {count * ExampleDigests.Size} in all.");
        if (CheckTemperatureAndOutput(request, out var temperature, out var outputDType) is { } unusable) return unusable;

        lookup = new ValidatedLookup(teacher!, inputDType, shape, count, temperature, outputDType, digests);
        return null;
    }

    // The teacher, the inputs' dtype and shape, and the batch size: what every classifier batch
    // states, whether it carries its examples or their digests.
    private static BatchError? CheckShape(SoftTargetsRequest request, LoadedTeacher? teacher, KnownTeachers names, string? askedAs,
        out long[]? shape, out WireDType inputDType)
    {
        shape = null;
        inputDType = default;
        if (string.IsNullOrEmpty(request.Teacher))
            return Invalid($"the teacher name is empty; name one of the teachers this service holds: {names.All}.");
        if (teacher is null)
            return Error(StatusCode.NotFound, names.NoTeacherNamed(request.Teacher));
        var shown = askedAs ?? teacher.Name;
        if (CheckLanguageModelFields(request, shown) is { } meaningless) return meaningless;

        var expected = $"[B, {string.Join(", ", teacher.ExampleShape)}]";
        var inputs = request.Inputs;
        if (inputs is null)
            return Invalid($"the inputs are missing; send a tensor of shape {expected} with dtype float32 or uint8.");
        inputDType = (WireDType)inputs.Dtype;
        if (!InputDTypes.Contains(inputDType))
            return Invalid($"input dtype {inputDType.DisplayName()} is not accepted; send uint8 (pixels 0..255) or float32 (pixels scaled to {PixelRange}).");
        var dimensions = inputs.Shape.ToArray();
        if (dimensions.Length != teacher.ExampleShape.Length + 1 || !dimensions.AsSpan(1).SequenceEqual(teacher.ExampleShape) || dimensions[0] < 0)
            return Invalid($"input shape [{string.Join(", ", dimensions)}] does not match {expected}: send B examples of shape [{string.Join(", ", teacher.ExampleShape)}].");
        if (dimensions[0] == 0)
            return Invalid($"the batch is empty; send between 1 and {teacher.MaxBatch} examples.");
        if (dimensions[0] > teacher.MaxBatch)
            return Error(StatusCode.ResourceExhausted, $"the batch has {dimensions[0]} examples but teacher '{shown}' takes at most {teacher.MaxBatch} per request; split it into smaller batches.");
        shape = dimensions;
        return null;
    }

    /// <summary>
    /// The checks every teacher makes: a temperature from <see cref="MinTemperature"/> to
    /// <see cref="MaxTemperature"/>, and an output dtype of float32 (the default when unspecified)
    /// or float16. Null when both are fine.
    /// </summary>
    public static BatchError? CheckTemperatureAndOutput(SoftTargetsRequest request, out float temperature, out WireDType outputDType)
    {
        temperature = request.Temperature;
        outputDType = request.OutputDtype == DType.Unspecified ? WireDType.Float32 : (WireDType)request.OutputDtype;
        // Written so that NaN fails it too.
        if (!(temperature >= MinTemperature && temperature <= MaxTemperature))
            return Invalid($"temperature {Shown(temperature)} is outside the range this service accepts, {Shown(MinTemperature)} to {Shown(MaxTemperature)} "
                + "(1 gives the plain softmax; Describe gives the range in limits).");
        if (outputDType is not (WireDType.Float32 or WireDType.Float16))
            return Invalid($"output dtype {outputDType.DisplayName()} is not offered; ask for float32 (the default) or float16.");
        return null;
    }

    // Fields 6 to 9 and 12 of the request are for language models: a classifier would ignore them, and a
    // caller who set them expected something from them.
    private static BatchError? CheckLanguageModelFields(SoftTargetsRequest request, string teacher)
    {
        var classifier = $"teacher '{teacher}' is a classifier";
        if (request.K != 0)
            return Invalid($"k = {request.K} means nothing to {classifier}: k (tokens kept per position) is for language models; leave it 0.");
        if (request.SparseKind != SparseKind.Unspecified)
            return Invalid($"sparse_kind {ProtoName(request.SparseKind)} means nothing to {classifier}: it is for language models asked for k > 0 tokens; leave it unset.");
        if (request.Seed != 0)
            return Invalid($"seed {request.Seed} means nothing to {classifier}: it fixes a language model's sampled tokens; leave it 0.");
        if (request.TokenizerDigest.Length > 0)
            return Invalid($"tokenizer_digest '{EchoedText.Of(request.TokenizerDigest)}' means nothing to {classifier}: it is for language models; leave it empty.");
        if (request.Texts.Count > 0)
            return Invalid($"texts mean nothing to {classifier}: they are for language models; send the examples in inputs.");
        return null;
    }

    // The first float32 input outside the pixel range (NaN and infinity included), as an error
    // naming its value and index; null when every value lies inside. Whole vectors are compared at
    // once, and only the first one that fails is looked at value by value.
    private static BatchError? CheckPixelRange(WireTensor inputs)
    {
        var values = MemoryMarshal.Cast<byte, float>(inputs.Data.Span);
        var low = new Vector<float>(PixelNormalization.FloatMin);
        var high = new Vector<float>(PixelNormalization.FloatMax);
        int i = 0;
        for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            // NaN compares false both ways, so a vector holding one fails too.
            var v = new Vector<float>(values[i..]);
            if (!(Vector.GreaterThanOrEqualAll(v, low) && Vector.LessThanOrEqualAll(v, high))) break;
        }
        for (; i < values.Length; i++)
        {
            if (values[i] >= PixelNormalization.FloatMin && values[i] <= PixelNormalization.FloatMax) continue;
            var perExample = values.Length / (int)inputs.Shape[0];
            return Invalid($"input value {Shown(values[i])} at index {i} (example {i / perExample}, element {i % perExample}) is outside {PixelRange}: "
                + $"float32 inputs are pixels scaled to {PixelRange} (a byte's value / 255); send 0..255 pixels as uint8.");
        }
        return null;
    }

    private static string PixelRange => $"{Shown(PixelNormalization.FloatMin)}..{Shown(PixelNormalization.FloatMax)}";

    private static string Shown(float value) => value switch
    {
        float.PositiveInfinity => "infinity",
        float.NegativeInfinity => "-infinity",
        _ => value.ToString(CultureInfo.InvariantCulture),
    };

    private static string ProtoName(SparseKind kind) => kind switch
    {
        SparseKind.TopK => "SPARSE_KIND_TOP_K",
        SparseKind.Sampled => "SPARSE_KIND_SAMPLED",
        _ => ((int)kind).ToString(CultureInfo.InvariantCulture),
    };

    private static BatchError Invalid(string message) => Error(StatusCode.InvalidArgument, message);

    private static BatchError Error(StatusCode code, string message) => new() { Code = (int)code, Message = message };
}
