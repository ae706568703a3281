using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
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
    /// Validates <paramref name="request"/> against <paramref name="teacher"/>, the version the
    /// caller already holds (null when the registry has no teacher of that name); exactly one of
    /// the two outs is set.
    /// </summary>
    public static bool TryValidate(SoftTargetsRequest request, LoadedTeacher? teacher, KnownTeachers names,
        [NotNullWhen(true)] out ValidatedBatch? batch, [NotNullWhen(false)] out BatchError? error)
    {
        batch = null;
        error = Check(request, teacher, names, out batch);
        return error is null;
    }

    /// <summary>
    /// Validates <paramref name="request"/>, a batch sent as example digests, against
    /// <paramref name="teacher"/> (null when the registry has no teacher of that name); exactly one
    /// of the two outs is set.
    /// </summary>
    public static bool TryValidateLookup(SoftTargetsRequest request, LoadedTeacher? teacher, KnownTeachers names,
        [NotNullWhen(true)] out ValidatedLookup? lookup, [NotNullWhen(false)] out BatchError? error)
    {
        lookup = null;
        error = CheckLookup(request, teacher, names, out lookup);
        return error is null;
    }

    private static BatchError? Check(SoftTargetsRequest request, LoadedTeacher? teacher, KnownTeachers names, out ValidatedBatch? batch)
    {
        batch = null;
        if (CheckShape(request, teacher, names, out var shape, out var inputDType) is { } badShape) return badShape;
        var wire = new WireTensor(shape!, inputDType, request.Inputs.Data.Memory);
        if (wire.Validate() is { } malformed)
            return Invalid($"the inputs are malformed: {malformed}");
        if (CheckTemperatureAndOutput(request, out var temperature, out var outputDType) is { } unusable) return unusable;
        if (inputDType == WireDType.Float32 && FirstNonFinite(wire) is { } example)
            return Invalid($"input example {example} holds a NaN or infinite value; float32 inputs must be finite pixels in 0..1.");

        batch = new ValidatedBatch(teacher!, wire, (int)shape![0], temperature, outputDType);
        return null;
    }

    private static BatchError? CheckLookup(SoftTargetsRequest request, LoadedTeacher? teacher, KnownTeachers names, out ValidatedLookup? lookup)
    {
        lookup = null;
        if (CheckShape(request, teacher, names, out var shape, out var inputDType) is { } badShape) return badShape;
        if (!request.Inputs.Data.IsEmpty)
            return Invalid("the batch carries both example_digests and input data; send one of the two (inputs then give only shape and dtype).");
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
    private static BatchError? CheckShape(SoftTargetsRequest request, LoadedTeacher? teacher, KnownTeachers names,
        out long[]? shape, out WireDType inputDType)
    {
        shape = null;
        inputDType = default;
        if (string.IsNullOrEmpty(request.Teacher))
            return Invalid($"the teacher name is empty; name one of the teachers this service holds: {names.All}.");
        if (teacher is null)
            return Error(StatusCode.NotFound, $"there is no teacher named '{request.Teacher}'; this service holds: {names.All}.");

        var expected = $"[B, {string.Join(", ", teacher.ExampleShape)}]";
        var inputs = request.Inputs;
        if (inputs is null)
            return Invalid($"the inputs are missing; send a tensor of shape {expected} with dtype float32 or uint8.");
        inputDType = (WireDType)inputs.Dtype;
        if (!InputDTypes.Contains(inputDType))
            return Invalid($"input dtype {inputDType.DisplayName()} is not accepted; send float32 (pixels in 0..1) or uint8 (pixels 0..255).");
        var dimensions = inputs.Shape.ToArray();
        if (dimensions.Length != teacher.ExampleShape.Length + 1 || !dimensions.AsSpan(1).SequenceEqual(teacher.ExampleShape) || dimensions[0] < 0)
            return Invalid($"input shape [{string.Join(", ", dimensions)}] does not match {expected}: send B examples of shape [{string.Join(", ", teacher.ExampleShape)}].");
        if (dimensions[0] == 0)
            return Invalid($"the batch is empty; send between 1 and {teacher.MaxBatch} examples.");
        if (dimensions[0] > teacher.MaxBatch)
            return Error(StatusCode.ResourceExhausted, $"the batch has {dimensions[0]} examples but teacher '{teacher.Name}' takes at most {teacher.MaxBatch} per request; split it into smaller batches.");
        shape = dimensions;
        return null;
    }

    /// <summary>
    /// The checks every teacher makes: a finite temperature above 0, and an output dtype of float32
    /// (the default when unspecified) or float16. Null when both are fine.
    /// </summary>
    public static BatchError? CheckTemperatureAndOutput(SoftTargetsRequest request, out float temperature, out WireDType outputDType)
    {
        temperature = request.Temperature;
        outputDType = request.OutputDtype == DType.Unspecified ? WireDType.Float32 : (WireDType)request.OutputDtype;
        if (!float.IsFinite(temperature) || temperature <= 0)
            return Invalid($"temperature {temperature} is not allowed; use a finite temperature greater than 0 (1 gives the plain softmax).");
        if (outputDType is not (WireDType.Float32 or WireDType.Float16))
            return Invalid($"output dtype {outputDType.DisplayName()} is not offered; ask for float32 (the default) or float16.");
        return null;
    }

    private static int? FirstNonFinite(WireTensor inputs)
    {
        var values = MemoryMarshal.Cast<byte, float>(inputs.Data.Span);
        var perExample = values.Length / (int)inputs.Shape[0];
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i / perExample;
        return null;
    }

    private static BatchError Invalid(string message) => Error(StatusCode.InvalidArgument, message);

    private static BatchError Error(StatusCode code, string message) => new() { Code = (int)code, Message = message };
}
