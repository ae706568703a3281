using System.Runtime.InteropServices;
using Google.Protobuf;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;

namespace TeacherStudent.Teacher.Tests;

/// <summary>Every kind of bad batch gets its own error code, and the stream stays usable.</summary>
[Collection(TeacherCollection.Name)]
public sealed class SoftTargetErrorTests(TeacherFixture fixture)
{
    private const int InvalidArgument = 3, NotFound = 5, ResourceExhausted = 8;

    public static TheoryData<string, int> BadRequests => new()
    {
        { "empty teacher name", InvalidArgument },
        { "unknown teacher", NotFound },
        { "missing inputs", InvalidArgument },
        { "empty batch", InvalidArgument },
        { "int32 inputs", InvalidArgument },
        { "unspecified input dtype", InvalidArgument },
        { "no channel dimension", InvalidArgument },
        { "wrong image size", InvalidArgument },
        { "too few bytes", InvalidArgument },
        { "too many bytes", InvalidArgument },
        { "zero temperature", InvalidArgument },
        { "negative temperature", InvalidArgument },
        { "NaN temperature", InvalidArgument },
        { "infinite temperature", InvalidArgument },
        { "tiny temperature", InvalidArgument },
        { "subnormal temperature", InvalidArgument },
        { "temperature under the range", InvalidArgument },
        { "temperature over the range", InvalidArgument },
        { "NaN pixel", InvalidArgument },
        { "infinite pixel", InvalidArgument },
        { "float pixel on the 0..255 scale", InvalidArgument },
        { "negative float pixel", InvalidArgument },
        { "k on a classifier", InvalidArgument },
        { "negative k on a classifier", InvalidArgument },
        { "top-k sparse kind on a classifier", InvalidArgument },
        { "sampled sparse kind on a classifier", InvalidArgument },
        { "seed on a classifier", InvalidArgument },
        { "tokenizer digest on a classifier", InvalidArgument },
        { "texts on a classifier", InvalidArgument },
        { "digests with k on a classifier", InvalidArgument },
        { "bfloat16 output", InvalidArgument },
        { "int64 output", InvalidArgument },
        { "batch over MaxBatch", ResourceExhausted },
        { "digests beside pixels", InvalidArgument },
        { "digests of the wrong length", InvalidArgument },
        { "digests at zero temperature", InvalidArgument },
        { "digests for an unknown teacher", NotFound },
        { "digests of a wrong shape", InvalidArgument },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task ABadBatchGetsItsErrorCodeAndTheNextGoodBatchOnTheSameStreamSucceeds(string problem, int code)
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();
        var bad = BadRequest(problem);

        // Act
        var rejected = await stream.AskAsync(bad);
        var good = await stream.AskAsync(TestImages.Request(400, 4, id: "good"));

        // Assert
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.Error, rejected.ResultCase);
        Assert.Equal(code, rejected.Error.Code);
        Assert.Equal(bad.RequestId, rejected.RequestId);
        Assert.EndsWith(".", rejected.Error.Message);
        TestImages.AssertSucceeded(good);
        Assert.Equal("good", good.RequestId);
    }

    [Fact]
    public async Task AllBadBatchesInARowOnOneStreamAreAnsweredInOrderAndTheStreamStillWorks()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();
        var cases = BadRequests.Select(row => ((string)row[0], (int)row[1])).ToArray();

        // Act
        var codes = new List<int>();
        foreach (var (problem, _) in cases) codes.Add((await stream.AskAsync(BadRequest(problem))).Error.Code);
        var good = await stream.AskAsync(TestImages.Request(404, 4));

        // Assert
        Assert.Equal(cases.Select(c => c.Item2), codes);
        TestImages.AssertClose(fixture.Reference.LogProbs(TestImages.Pixels(404, 4), 4, 1f), TestImages.LogProbs(good), 1e-5);
    }

    [Fact]
    public async Task ABatchOverMaxBatchSaysWhatTheLimitIs()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();

        // Act
        var response = await stream.AskAsync(BadRequest("batch over MaxBatch"));

        // Assert
        Assert.Equal(ResourceExhausted, response.Error.Code);
        Assert.Contains($"at most {TeacherFixture.MaxBatch}", response.Error.Message);
    }

    [Fact]
    public async Task AnUnknownTeacherIsNotFoundAndTheMessageListsTheKnownTeachers()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();

        // Act
        var response = await stream.AskAsync(BadRequest("unknown teacher"));

        // Assert
        Assert.Equal(NotFound, response.Error.Code);
        Assert.Contains("'nobody'", response.Error.Message);
        Assert.Contains("fashion", response.Error.Message);
        Assert.Equal("", response.TeacherVersion);
    }

    [Fact]
    public async Task AWrongShapeMessageSaysWhichShapeIsExpected()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();

        // Act
        var response = await stream.AskAsync(BadRequest("no channel dimension"));

        // Assert
        Assert.Contains("[2, 28, 28]", response.Error.Message);
        Assert.Contains("[B, 1, 28, 28]", response.Error.Message);
    }

    private static SoftTargetsRequest BadRequest(string problem)
    {
        var request = TestImages.Request(400, 2, id: $"bad: {problem}");
        switch (problem)
        {
            case "empty teacher name": request.Teacher = ""; break;
            case "unknown teacher": request.Teacher = "nobody"; break;
            case "missing inputs": request.Inputs = null; break;
            case "empty batch": SetInputs(request, [0, 1, 28, 28], DType.Uint8, []); break;
            case "int32 inputs": SetInputs(request, [2, 1, 28, 28], DType.Int32, new byte[2 * 784 * 4]); break;
            case "unspecified input dtype": request.Inputs.Dtype = DType.Unspecified; break;
            case "no channel dimension": SetInputs(request, [2, 28, 28], DType.Uint8, new byte[2 * 784]); break;
            case "wrong image size": SetInputs(request, [2, 1, 28, 27], DType.Uint8, new byte[2 * 28 * 27]); break;
            case "too few bytes": request.Inputs.Data = ByteString.CopyFrom(new byte[100]); break;
            case "too many bytes": request.Inputs.Data = ByteString.CopyFrom(new byte[3 * 784]); break;
            case "zero temperature": request.Temperature = 0; break;
            case "negative temperature": request.Temperature = -1; break;
            case "NaN temperature": request.Temperature = float.NaN; break;
            case "infinite temperature": request.Temperature = float.PositiveInfinity; break;
            // Positive and finite, but logits / T overflow to infinity: rows of NaN, once cached.
            case "tiny temperature": request.Temperature = 1e-38f; break;
            case "subnormal temperature": request.Temperature = float.Epsilon; break;
            case "temperature under the range": request.Temperature = 0.009f; break;
            case "temperature over the range": request.Temperature = 100.5f; break;
            case "NaN pixel": SetFloatPixels(request, float.NaN); break;
            case "infinite pixel": SetFloatPixels(request, float.NegativeInfinity); break;
            case "float pixel on the 0..255 scale": SetFloatPixels(request, 255f); break;
            case "negative float pixel": SetFloatPixels(request, -0.5f); break;
            case "k on a classifier": request.K = 5; break;
            case "negative k on a classifier": request.K = -1; break;
            case "top-k sparse kind on a classifier": request.SparseKind = SparseKind.TopK; break;
            case "sampled sparse kind on a classifier": request.SparseKind = SparseKind.Sampled; break;
            case "seed on a classifier": request.Seed = 7; break;
            case "tokenizer digest on a classifier": request.TokenizerDigest = "0123456789abcdef"; break;
            case "texts on a classifier": request.Texts.Add("a sentence"); break;
            case "digests with k on a classifier": request = Digests(request, new byte[2 * 32]); request.K = 3; break;
            case "bfloat16 output": request.OutputDtype = DType.Bfloat16; break;
            case "int64 output": request.OutputDtype = DType.Int64; break;
            case "batch over MaxBatch":
                var over = TestImages.Request(400, TeacherFixture.MaxBatch + 1);
                request.Inputs = over.Inputs;
                break;
            case "digests beside pixels": request.ExampleDigests = ByteString.CopyFrom(new byte[2 * 32]); break;
            case "digests of the wrong length": request = Digests(request, new byte[2 * 32 - 1]); break;
            case "digests at zero temperature": request = Digests(request, new byte[2 * 32]); request.Temperature = 0; break;
            case "digests for an unknown teacher": request = Digests(request, new byte[2 * 32]); request.Teacher = "nobody"; break;
            case "digests of a wrong shape": request = Digests(request, new byte[2 * 32]); request.Inputs.Shape[3] = 27; break;
            default: throw new ArgumentException($"no bad request called '{problem}'.", nameof(problem));
        }
        return request;
    }

    [Theory]
    [InlineData(1e-38f)]
    [InlineData(0.009f)]
    [InlineData(100.5f)]
    public async Task ATemperatureOutsideTheRangeIsRefusedWithAMessageNamingTheRange(float temperature)
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();

        // Act
        var response = await stream.AskAsync(TestImages.Request(400, 2, temperature));

        // Assert
        Assert.Equal(InvalidArgument, response.Error.Code);
        Assert.Contains("0.01 to 100", response.Error.Message);
    }

    [Theory]
    [InlineData(0.01f)]
    [InlineData(100f)]
    public async Task TheEndsOfTheTemperatureRangeGiveFiniteLogProbabilities(float temperature)
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();

        // Act
        var response = await stream.AskAsync(TestImages.Request(410, 4, temperature));

        // Assert
        Assert.All(TestImages.LogProbs(response), value => Assert.True(float.IsFinite(value), $"log-prob {value} at T = {temperature}"));
    }

    [Fact]
    public async Task AFloatPixelOutsideZeroToOneIsRefusedNamingTheFirstBadValueAndItsIndex()
    {
        // Arrange: example 1 holds 255 at element 300 and 2 at element 500; example 0 is fine.
        var request = TestImages.Request(400, 2, id: "0..255 floats");
        var pixels = new float[2 * 784];
        pixels[784 + 300] = 255f;
        pixels[784 + 500] = 2f;
        SetInputs(request, [2, 1, 28, 28], DType.Float32, MemoryMarshal.AsBytes(pixels.AsSpan()).ToArray());
        await using var stream = fixture.Server.OpenStream();

        // Act
        var response = await stream.AskAsync(request);

        // Assert
        Assert.Equal(InvalidArgument, response.Error.Code);
        Assert.Contains("value 255 at index 1084 (example 1, element 300)", response.Error.Message);
        Assert.Contains("0..1", response.Error.Message);
    }

    [Theory]
    [InlineData("k on a classifier", "k = 5")]
    [InlineData("negative k on a classifier", "k = -1")]
    [InlineData("sampled sparse kind on a classifier", "sparse_kind SPARSE_KIND_SAMPLED")]
    [InlineData("seed on a classifier", "seed 7")]
    [InlineData("tokenizer digest on a classifier", "tokenizer_digest '0123456789abcdef'")]
    [InlineData("texts on a classifier", "texts mean nothing to teacher")]
    [InlineData("digests with k on a classifier", "k = 3")]
    public async Task AFieldThatMeansNothingToAClassifierIsRefusedByName(string problem, string named)
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();

        // Act
        var response = await stream.AskAsync(BadRequest(problem));

        // Assert
        Assert.Equal(InvalidArgument, response.Error.Code);
        Assert.Contains(named, response.Error.Message);
        Assert.Contains("classifier", response.Error.Message);
    }

    [Fact]
    public async Task ATenThousandCharacterTeacherNameIsEchoedAsAShortPrefixWithItsLength()
    {
        // Arrange
        var request = TestImages.Request(400, 2);
        request.Teacher = new string('x', 10_000);
        await using var stream = fixture.Server.OpenStream();

        // Act
        var response = await stream.AskAsync(request);

        // Assert
        Assert.Equal(NotFound, response.Error.Code);
        Assert.Contains($"'{new string('x', 64)}…(10000 chars)'", response.Error.Message);
        Assert.InRange(response.Error.Message.Length, 1, 300);
    }

    private static SoftTargetsRequest Digests(SoftTargetsRequest request, byte[] digests)
    {
        request.Inputs.Data = ByteString.Empty;
        request.ExampleDigests = ByteString.CopyFrom(digests);
        return request;
    }

    private static void SetInputs(SoftTargetsRequest request, long[] shape, DType dtype, byte[] data)
    {
        request.Inputs = new Tensor { Dtype = dtype, Data = ByteString.CopyFrom(data) };
        request.Inputs.Shape.AddRange(shape);
    }

    private static void SetFloatPixels(SoftTargetsRequest request, float poison)
    {
        var pixels = new float[2 * 784];
        pixels[784 + 300] = poison;
        SetInputs(request, [2, 1, 28, 28], DType.Float32, MemoryMarshal.AsBytes(pixels.AsSpan()).ToArray());
    }
}
