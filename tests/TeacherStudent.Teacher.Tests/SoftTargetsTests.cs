using Google.Protobuf;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;

namespace TeacherStudent.Teacher.Tests;

[Collection(TeacherCollection.Name)]
public sealed class SoftTargetsTests(TeacherFixture fixture)
{
    [Fact]
    public async Task Float32SoftTargetsEqualTheInProcessForwardAtTemperature()
    {
        // Arrange
        const float temperature = 3f;
        var expected = fixture.Reference.LogProbs(TestImages.Pixels(0, 32), 32, temperature);
        await using var stream = fixture.Server.OpenStream();

        // Act
        var response = await stream.AskAsync(TestImages.Request(0, 32, temperature, id: "first"));

        // Assert
        TestImages.AssertSucceeded(response);
        Assert.Equal("first", response.RequestId);
        Assert.Equal("fashion", response.Teacher);
        Assert.Equal(fixture.Version, response.TeacherVersion);
        Assert.Equal([32L, 10L], response.LogProbs.Shape);
        Assert.Equal(DType.Float32, response.LogProbs.Dtype);
        TestImages.AssertClose(expected, TestImages.LogProbs(response), 1e-5);
    }

    [Fact]
    public async Task Float16SoftTargetsEqualTheInProcessForwardWithinHalfPrecision()
    {
        // Arrange
        const float temperature = 2f;
        var expected = fixture.Reference.LogProbs(TestImages.Pixels(0, 32), 32, temperature);
        await using var stream = fixture.Server.OpenStream();

        // Act
        var response = await stream.AskAsync(TestImages.Request(0, 32, temperature, DType.Float16));

        // Assert
        TestImages.AssertSucceeded(response);
        Assert.Equal(DType.Float16, response.LogProbs.Dtype);
        Assert.Equal(32 * 10 * 2, response.LogProbs.Data.Length);
        TestImages.AssertClose(expected, TestImages.LogProbs(response), 2e-3);
    }

    [Fact]
    public async Task EveryRowOfProbabilitiesSumsToOne()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();

        // Act
        var response = await stream.AskAsync(TestImages.Request(100, TeacherFixture.MaxBatch, temperature: 4f));

        // Assert
        var logProbs = TestImages.LogProbs(response);
        for (int row = 0; row < TeacherFixture.MaxBatch; row++)
        {
            var sum = logProbs.AsSpan(row * 10, 10).ToArray().Sum(lp => Math.Exp(lp));
            Assert.InRange(sum, 1 - 1e-5, 1 + 1e-5);
        }
    }

    [Fact]
    public async Task Float32PixelsInZeroToOneGiveTheSameAnswerAsUint8Pixels()
    {
        // Arrange
        var pixels = TestImages.Pixels(200, 8).ToArray();
        var floats = pixels.Select(p => p / 255f).ToArray();
        var request = TestImages.Request(200, 8);
        request.Inputs.Dtype = DType.Float32;
        request.Inputs.Data = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats.AsSpan()));
        var expected = fixture.Reference.LogProbs(pixels, 8, 1f);
        await using var stream = fixture.Server.OpenStream();

        // Act
        var response = await stream.AskAsync(request);

        // Assert
        TestImages.AssertClose(expected, TestImages.LogProbs(response), 1e-5);
    }

    [Fact]
    public async Task ResponsesComeBackInRequestOrderOnOneStream()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();
        var requests = Enumerable.Range(0, 5).Select(i => TestImages.Request(250 + i * 3, 1 + i, id: $"r{i}")).ToArray();

        // Act: all written before any answer is read.
        var call = fixture.Server.Client.SoftTargets();
        foreach (var request in requests) await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();
        var responses = new List<SoftTargetsResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) responses.Add(call.ResponseStream.Current);
        call.Dispose();

        // Assert
        Assert.Equal(requests.Select(r => r.RequestId), responses.Select(r => r.RequestId));
        Assert.Equal(requests.Select(r => r.Inputs.Shape[0]), responses.Select(r => r.LogProbs.Shape[0]));
    }

    [Fact]
    public async Task ConcurrentStreamsAllGetTheirOwnCorrectAnswers()
    {
        // Arrange
        const int streams = 4, batches = 3, batchSize = 16;

        // Act
        var tasks = Enumerable.Range(0, streams).Select(async s =>
        {
            await using var stream = fixture.Server.OpenStream();
            var answers = new List<(int Start, float[] LogProbs)>();
            for (int b = 0; b < batches; b++)
            {
                var start = 300 + (s * batches + b) * batchSize;
                answers.Add((start, TestImages.LogProbs(await stream.AskAsync(TestImages.Request(start, batchSize)))));
            }
            return answers;
        }).ToArray();
        var results = await Task.WhenAll(tasks);

        // Assert
        foreach (var (start, logProbs) in results.SelectMany(r => r))
            TestImages.AssertClose(fixture.Reference.LogProbs(TestImages.Pixels(start, batchSize), batchSize, 1f), logProbs, 1e-5);
    }
}
