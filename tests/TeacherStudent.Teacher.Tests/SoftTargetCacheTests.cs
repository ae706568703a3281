using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;

namespace TeacherStudent.Teacher.Tests;

/// <summary>The per-example cache, in-process flavour. Each test uses images no other test uses.</summary>
[Collection(TeacherCollection.Name)]
public sealed class SoftTargetCacheTests(TeacherFixture fixture)
{
    [Fact]
    public async Task ASecondIdenticalRequestIsAnsweredWhollyFromTheCacheWithIdenticalBytes()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();
        var request = TestImages.Request(5000, 32, temperature: 2f);

        // Act
        var first = await stream.AskAsync(request);
        var second = await stream.AskAsync(request);

        // Assert
        Assert.Equal(0, first.CacheHits);
        Assert.Equal(32, second.CacheHits);
        Assert.Equal(first.LogProbs.Data, second.LogProbs.Data);
    }

    [Fact]
    public async Task AnotherTemperatureIsNotAHit()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();
        await stream.AskAsync(TestImages.Request(5100, 16, temperature: 2f));

        // Act
        var other = await stream.AskAsync(TestImages.Request(5100, 16, temperature: 2.5f));

        // Assert
        Assert.Equal(0, other.CacheHits);
        TestImages.AssertClose(fixture.Reference.LogProbs(TestImages.Pixels(5100, 16), 16, 2.5f), TestImages.LogProbs(other), 1e-5);
    }

    [Fact]
    public async Task AnotherOutputDtypeIsNotAHit()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();
        await stream.AskAsync(TestImages.Request(5200, 16, outputDType: DType.Float32));

        // Act
        var other = await stream.AskAsync(TestImages.Request(5200, 16, outputDType: DType.Float16));

        // Assert
        Assert.Equal(0, other.CacheHits);
        Assert.Equal(DType.Float16, other.LogProbs.Dtype);
    }

    [Fact]
    public async Task TheCacheIsPerExampleSoAnOverlappingBatchHitsOnlyItsSeenExamples()
    {
        // Arrange: examples 5300..5331 seen; the next batch is 5316..5347, half of them seen.
        await using var stream = fixture.Server.OpenStream();
        await stream.AskAsync(TestImages.Request(5300, 32, temperature: 1.5f));

        // Act
        var overlapping = await stream.AskAsync(TestImages.Request(5316, 32, temperature: 1.5f));

        // Assert
        Assert.Equal(16, overlapping.CacheHits);
        TestImages.AssertClose(fixture.Reference.LogProbs(TestImages.Pixels(5316, 32), 32, 1.5f), TestImages.LogProbs(overlapping), 1e-5);
    }

    [Fact]
    public async Task TheSameExamplesOnAnotherStreamAreHitsToo()
    {
        // Arrange
        await using (var first = fixture.Server.OpenStream())
            await first.AskAsync(TestImages.Request(5400, 8));
        await using var second = fixture.Server.OpenStream();

        // Act
        var response = await second.AskAsync(TestImages.Request(5400, 8));

        // Assert
        Assert.Equal(8, response.CacheHits);
    }
}
