using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Caching;

/// <summary>
/// Batches marked uncached (views that never repeat, such as an online student's augmented images): computed
/// every time, never looked up in the soft-target cache nor written to it; for a teacher and for an ensemble.
/// </summary>
public sealed class UncachedTests : IAsyncLifetime
{
    private readonly TemporaryDirectory directory = new("uncached-tests");
    private CheckpointFolder.Versions versions = null!;
    private TeacherServer server = null!;

    public async Task InitializeAsync()
    {
        versions = new CheckpointFolder.Versions(directory.Path, 61, 62);
        server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teachers:0:Name"] = "fashion",
            ["Teachers:0:Checkpoint"] = versions.Paths[0],
            ["Teachers:1:Name"] = "other",
            ["Teachers:1:Checkpoint"] = versions.Paths[1],
            ["Ensembles:0:Name"] = "both",
            ["Ensembles:0:Members:0:Teacher"] = "fashion",
            ["Ensembles:0:Members:1:Teacher"] = "other",
        });
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        versions.Dispose();
        directory.Dispose();
    }

    private static SoftTargetsRequest Uncached(int start, int count, string teacher)
    {
        var request = TestImages.Request(start, count, temperature: 2f, teacher: teacher);
        request.Uncached = true;
        return request;
    }

    [Theory]
    [InlineData("fashion")]
    [InlineData("both")]
    public async Task AnUncachedBatchIsComputedEveryTimeAndLeavesNothingInTheCache(string teacher)
    {
        // Arrange
        await using var stream = server.OpenStream();

        // Act
        var first = await stream.AskAsync(Uncached(400, 16, teacher));
        var again = await stream.AskAsync(Uncached(400, 16, teacher));
        var memberBefore = await stream.AskAsync(TestImages.Request(400, 16, temperature: 2f, teacher: "other"));
        var cached = await stream.AskAsync(TestImages.Request(400, 16, temperature: 2f, teacher: teacher));
        var cachedAgain = await stream.AskAsync(TestImages.Request(400, 16, temperature: 2f, teacher: teacher));
        var member = await stream.AskAsync(TestImages.Request(400, 16, temperature: 2f, teacher: "other"));

        // Assert: nothing was kept until a cached batch asked; then the cache answers.
        Assert.Equal((0, 0, 0, 16), (first.CacheHits, again.CacheHits, cached.CacheHits, cachedAgain.CacheHits));
        Assert.Equal(TestImages.LogProbs(first), TestImages.LogProbs(again));
        Assert.Equal(TestImages.LogProbs(first), TestImages.LogProbs(cached));
        Assert.Equal(0, memberBefore.CacheHits); // an uncached ensemble batch kept none of its members' rows either
        Assert.Equal(16, member.CacheHits); // "other" itself was asked (cached) just before
        var expected = versions.Reference(versions.Digests[0]).LogProbs(TestImages.Pixels(400, 16), 16, 2f);
        if (teacher == "fashion") TestImages.AssertClose(expected, TestImages.LogProbs(first), 1e-5);
    }

    [Fact]
    public async Task AnUncachedBatchOfDigestsIsRefusedSayingWhy()
    {
        await using var stream = server.OpenStream();
        var request = TestImages.DigestRequest(0, 4);
        request.Uncached = true;

        var response = await stream.AskAsync(request);

        Assert.Equal(3, response.Error.Code); // INVALID_ARGUMENT
        Assert.Contains("uncached and carries example_digests", response.Error.Message);
    }
}
