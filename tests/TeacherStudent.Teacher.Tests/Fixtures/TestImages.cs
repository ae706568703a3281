using Google.Protobuf;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.Teacher.Tests.Fixtures;

/// <summary>Real Fashion-MNIST test images, and requests made of them.</summary>
public static class TestImages
{
    private static readonly Lazy<ImageDataset> Dataset = new(() => FashionMnist.LoadTest(FashionMnist.DefaultDirectory));

    /// <summary>Pixels (0..255) of images [start, start + count).</summary>
    public static ReadOnlySpan<byte> Pixels(int start, int count) =>
        Dataset.Value.Pixels.AsSpan(start * Dataset.Value.ExampleSize, count * Dataset.Value.ExampleSize);

    /// <summary>A request for images [start, start + count) as uint8 pixels.</summary>
    public static SoftTargetsRequest Request(int start, int count, float temperature = 1f,
        DType outputDType = DType.Float32, string teacher = "fashion", string? id = null) => new()
    {
        RequestId = id ?? $"images {start}+{count} T={temperature} {outputDType}",
        Teacher = teacher,
        Temperature = temperature,
        OutputDtype = outputDType,
        Inputs = new Tensor
        {
            Shape = { count, 1, 28, 28 },
            Dtype = DType.Uint8,
            Data = ByteString.CopyFrom(Pixels(start, count)),
        },
    };

    /// <summary>
    /// A request for images [start, start + count) sent as their digests: shape and dtype in the
    /// inputs, no pixels.
    /// </summary>
    public static SoftTargetsRequest DigestRequest(int start, int count, float temperature = 1f,
        DType outputDType = DType.Float32, string teacher = "fashion")
    {
        var request = Request(start, count, temperature, outputDType, teacher, id: $"digests of images {start}+{count} T={temperature} {outputDType}");
        request.ExampleDigests = ByteString.CopyFrom(ExampleDigests.Compute(request.Inputs.Data.Memory, count));
        request.Inputs.Data = ByteString.Empty;
        return request;
    }

    /// <summary>The log-probs of a successful response as floats, row-major [B, C].</summary>
    public static float[] LogProbs(SoftTargetsResponse response)
    {
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.LogProbs, response.ResultCase);
        var tensor = response.LogProbs;
        return TensorCodec.ToFloats(new WireTensor(tensor.Shape.ToArray(), (WireDType)tensor.Dtype, tensor.Data.Memory));
    }

    /// <summary>Asserts that a response is a success, with a clear message when it is an error.</summary>
    public static void AssertSucceeded(SoftTargetsResponse response)
    {
        if (response.ResultCase == SoftTargetsResponse.ResultOneofCase.Error)
            Assert.Fail($"request {response.RequestId} failed with {response.Error.Code}: {response.Error.Message}");
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.LogProbs, response.ResultCase);
    }

    /// <summary>Asserts that two float arrays agree element by element within <paramref name="tolerance"/>.</summary>
    public static void AssertClose(float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (Math.Abs(expected[i] - actual[i]) > tolerance)
                Assert.Fail($"element {i}: expected {expected[i]}, got {actual[i]} (tolerance {tolerance}).");
        }
    }
}
