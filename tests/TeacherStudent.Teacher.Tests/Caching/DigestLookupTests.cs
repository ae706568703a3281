using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;

namespace TeacherStudent.Teacher.Tests.Caching;

/// <summary>
/// Batches sent as example digests, answered from the (in-process) cache alone. Each test uses
/// images no other test uses.
/// </summary>
[Collection(TeacherCollection.Name)]
public sealed class DigestLookupTests(TeacherFixture fixture)
{
    [Fact]
    public async Task ExamplesAnsweredOnceAreAnsweredAgainFromTheirDigestsWithIdenticalBytes()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();
        var computed = await stream.AskAsync(TestImages.Request(7000, 32, temperature: 2f));

        // Act
        var looked = await stream.AskAsync(TestImages.DigestRequest(7000, 32, temperature: 2f));

        // Assert
        TestImages.AssertSucceeded(looked);
        Assert.Equal(32, looked.CacheHits);
        Assert.Empty(looked.Missing);
        Assert.Equal(computed.LogProbs.Shape, looked.LogProbs.Shape);
        Assert.Equal(computed.LogProbs.Data, looked.LogProbs.Data);
        Assert.Equal(computed.TeacherVersion, looked.TeacherVersion);
    }

    [Fact]
    public async Task DigestsOfExamplesNeverAnsweredComeBackMissingAsNaNRowsAndNothingIsComputed()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();

        // Act
        var looked = await stream.AskAsync(TestImages.DigestRequest(7100, 16));
        var sentAfter = await stream.AskAsync(TestImages.Request(7100, 16));

        // Assert: every row missing and NaN; the lookup left nothing in the cache for the pixels to hit.
        TestImages.AssertSucceeded(looked);
        Assert.Equal(0, looked.CacheHits);
        Assert.Equal(Enumerable.Range(0, 16), looked.Missing);
        Assert.All(TestImages.LogProbs(looked), value => Assert.True(float.IsNaN(value)));
        Assert.Equal(0, sentAfter.CacheHits);
        TestImages.AssertClose(fixture.Reference.LogProbs(TestImages.Pixels(7100, 16), 16, 1f), TestImages.LogProbs(sentAfter), 1e-5);
    }

    [Fact]
    public async Task AMixedBatchListsExactlyTheExamplesNeverAnsweredAndAnswersTheOthers()
    {
        // Arrange: images 7200..7215 answered; the lookup asks for 7208..7223.
        await using var stream = fixture.Server.OpenStream();
        await stream.AskAsync(TestImages.Request(7200, 16, temperature: 1.5f));

        // Act
        var looked = await stream.AskAsync(TestImages.DigestRequest(7208, 16, temperature: 1.5f));

        // Assert
        Assert.Equal(8, looked.CacheHits);
        Assert.Equal(Enumerable.Range(8, 8), looked.Missing);
        var rows = TestImages.LogProbs(looked);
        var expected = fixture.Reference.LogProbs(TestImages.Pixels(7208, 8), 8, 1.5f);
        TestImages.AssertClose(expected, rows[..expected.Length], 1e-5);
        Assert.All(rows[expected.Length..], value => Assert.True(float.IsNaN(value)));
    }

    [Fact]
    public async Task DigestsAtAnotherTemperatureOrOutputDtypeAreMissing()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();
        await stream.AskAsync(TestImages.Request(7300, 8, temperature: 2f));

        // Act
        var warmer = await stream.AskAsync(TestImages.DigestRequest(7300, 8, temperature: 3f));
        var half = await stream.AskAsync(TestImages.DigestRequest(7300, 8, temperature: 2f, outputDType: DType.Float16));

        // Assert
        Assert.Equal(Enumerable.Range(0, 8), warmer.Missing);
        Assert.Equal(Enumerable.Range(0, 8), half.Missing);
        Assert.Equal(DType.Float16, half.LogProbs.Dtype);
        Assert.All(TestImages.LogProbs(half), value => Assert.True(float.IsNaN(value)));
    }

    [Fact]
    public async Task ABatchSentAsPixelsNeverListsMissingExamples()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();

        // Act
        var computed = await stream.AskAsync(TestImages.Request(7400, 8));

        // Assert
        Assert.Equal(0, computed.CacheHits);
        Assert.Empty(computed.Missing);
    }
}
