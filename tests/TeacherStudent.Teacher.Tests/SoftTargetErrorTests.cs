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
        { "NaN pixel", InvalidArgument },
        { "infinite pixel", InvalidArgument },
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
            case "NaN pixel": SetFloatPixels(request, float.NaN); break;
            case "infinite pixel": SetFloatPixels(request, float.NegativeInfinity); break;
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
