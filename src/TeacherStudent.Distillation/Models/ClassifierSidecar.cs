using System.Text.Json;
using System.Text.Json.Serialization;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// The small JSON file beside a classifier in another framework's format: what one example is
/// (shape [channels, height, width], dtype), how pixels are normalised before the model sees them,
/// and the class names, which also give the number of outputs. A TorchScript teacher needs one
/// (<c>model.pt</c> + <c>model.json</c>); a student leaves with one beside its
/// <c>model.safetensors</c>, there also naming its architecture and width so that Python can
/// rebuild it. Pixels reach the model as <c>(pixel / 255 - mean[c]) / std[c]</c> in float32.
/// </summary>
public sealed record ClassifierSidecar
{
    /// <summary>The only input dtype: float pixels, normalised as <see cref="Normalization"/> says.</summary>
    public const string Float32 = "float32";

    /// <summary>"torchscript" may be left out; a student's is "mlp" or "convnet".</summary>
    [JsonPropertyName("architecture")]
    public string? Architecture { get; init; }

    /// <summary>A student's width (<see cref="ModelSpec.Width"/>); null for a TorchScript model.</summary>
    [JsonPropertyName("width")]
    public int? Width { get; init; }

    /// <summary>One example, without the batch dimension.</summary>
    [JsonPropertyName("input")]
    public SidecarInput? Input { get; init; }

    /// <summary>Per-channel mean and standard deviation of pixels in 0..1; null: the model takes pixels in 0..1 as they are.</summary>
    [JsonPropertyName("normalization")]
    public SidecarNormalization? Normalization { get; init; }

    /// <summary>One name per output, in the model's output order.</summary>
    [JsonPropertyName("class_names")]
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>[channels, height, width] of a validated sidecar.</summary>
    [JsonIgnore]
    public long[] ExampleShape => Input!.Shape!.Select(d => (long)d).ToArray();

    /// <summary>The sidecar of a project model (a student) of <paramref name="spec"/>, with its pixel normalisation.</summary>
    public static ClassifierSidecar For(ModelSpec spec, IReadOnlyList<string> classNames) => new()
    {
        Architecture = spec.Architecture,
        Width = spec.Width,
        Input = new SidecarInput { Shape = [spec.Channels, spec.Height, spec.ImageWidth], DType = Float32 },
        Normalization = new SidecarNormalization { Mean = [PixelNormalization.Mean], Std = [PixelNormalization.Std] },
        ClassNames = classNames.Count == spec.Classes
            ? classNames
            : throw new ArgumentException($"{classNames.Count} class names for a model of {spec.Classes} classes.", nameof(classNames)),
    };

    /// <summary>Reads and checks the sidecar at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">it is missing, not JSON, or says something unusable; the message names the file.</exception>
    public static ClassifierSidecar Read(string path) => Parse(ReadBytes(path), path);

    /// <summary>The sidecar's bytes, or a refusal naming the file when there is none.</summary>
    public static byte[] ReadBytes(string path)
    {
        if (!File.Exists(path))
            throw new InvalidDataException($"its sidecar {path} is missing: a classifier in this format needs a JSON file beside it "
                                           + "giving its input shape and dtype, pixel normalization and class names.");
        return File.ReadAllBytes(path);
    }

    /// <summary>Parses and checks sidecar bytes read from <paramref name="path"/> (named in every refusal).</summary>
    public static ClassifierSidecar Parse(byte[] json, string path)
    {
        ClassifierSidecar? sidecar;
        try
        {
            sidecar = JsonSerializer.Deserialize<ClassifierSidecar>(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"its sidecar {path} {JsonProblem(e)}", e);
        }
        if (sidecar is null) throw new InvalidDataException($"its sidecar {path} holds null, not an object.");
        if (sidecar.Problem() is { } problem) throw new InvalidDataException($"its sidecar {path} {problem}");
        return sidecar;
    }

    /// <summary>Writes this sidecar, indented, to <paramref name="path"/> atomically.</summary>
    public void Write(string path)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(this, WriteOptions);
        Checkpoint.WriteAtomically(path, writer => writer.Write(json));
    }

    private static readonly JsonSerializerOptions WriteOptions = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    // System.Text.Json's message goes on with the path and position; said once, plainly.
    private static string JsonProblem(JsonException e)
    {
        var where = $"(line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})";
        if (e.Path is { Length: > 1 } field && e.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
            return $"gives {field.TrimStart('$', '.')} a value of the wrong kind {where}; see the sidecar's fields in docs/bring-your-own-model.md.";
        var first = e.Message.Split(". ", 2)[0].TrimEnd('.');
        return $"is not valid JSON {where}: {first}.";
    }

    // What is wrong with a sidecar as a predicate of its file ("has no input.shape ..."), or null.
    private string? Problem()
    {
        if (Input?.Shape is not { } shape)
            return "has no input.shape; give one example's shape as [channels, height, width], e.g. [1, 28, 28].";
        if (shape.Count != 3 || shape.Any(d => d <= 0))
            return $"gives input.shape [{string.Join(", ", shape)}]; it must be [channels, height, width], three positive sizes, e.g. [1, 28, 28].";
        if ((Input.DType ?? Float32) != Float32)
            return $"gives input.dtype '{Input.DType}'; only '{Float32}' is supported (pixels scaled to 0..1, then normalized as the sidecar says).";
        if (ClassNames is null || ClassNames.Count < 2)
            return "needs class_names, at least two, one per output of the model in order.";
        if (ClassNames.Any(string.IsNullOrWhiteSpace))
            return "has an empty name in class_names; name every class.";
        if (Width is <= 0)
            return $"gives width {Width}; a width is positive.";
        if (Normalization is { } n)
        {
            int channels = shape[0];
            if (n.Mean is null || n.Std is null)
                return "has a normalization without both mean and std; give both, one value or one per channel, or leave normalization out.";
            if (n.Mean.Count is not 1 && n.Mean.Count != channels || n.Std.Count is not 1 && n.Std.Count != channels)
                return $"gives {n.Mean.Count} means and {n.Std.Count} standard deviations for {channels} channels; give one value or one per channel.";
            if (n.Mean.Any(m => !double.IsFinite(m)) || n.Std.Any(s => !double.IsFinite(s) || s <= 0))
                return "gives a mean that is not a finite number or a standard deviation that is not positive.";
        }
        return null;
    }
}

/// <summary>The "input" of a <see cref="ClassifierSidecar"/>.</summary>
public sealed record SidecarInput
{
    /// <summary>[channels, height, width].</summary>
    [JsonPropertyName("shape")]
    public IReadOnlyList<int>? Shape { get; init; }

    /// <summary>"float32" (the default when left out).</summary>
    [JsonPropertyName("dtype")]
    public string? DType { get; init; }
}

/// <summary>The "normalization" of a <see cref="ClassifierSidecar"/>: the model sees (pixel - mean) / std, pixels in 0..1.</summary>
public sealed record SidecarNormalization
{
    /// <summary>One value for every channel, or one per channel.</summary>
    [JsonPropertyName("mean")]
    public IReadOnlyList<double>? Mean { get; init; }

    /// <summary>One value for every channel, or one per channel; positive.</summary>
    [JsonPropertyName("std")]
    public IReadOnlyList<double>? Std { get; init; }
}
