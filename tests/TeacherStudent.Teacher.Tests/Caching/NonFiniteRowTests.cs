using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Caching;

/// <summary>A teacher whose answers are NaN (every weight NaN): its rows are sent as computed, and never cached.</summary>
public sealed class NonFiniteRowTests : IAsyncLifetime
{
    private readonly TemporaryDirectory directory = new("non-finite-rows");
    private readonly RecordedLogs logs = new();
    private TeacherServer server = null!;

    public async Task InitializeAsync()
    {
        var checkpoint = TeacherCheckpoints.CreateWithNaNWeights(directory.File("broken.ckpt"));
        server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teacher:Checkpoint"] = checkpoint,
            ["Teacher:Device"] = "cpu",
        }, services => services.AddSingleton<ILoggerProvider>(logs));
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        directory.Dispose();
    }

    [Fact]
    public async Task ARowOfNaNIsAnsweredButNotCachedSoAskingAgainComputesItAgain()
    {
        // Arrange
        await using var stream = server.OpenStream();

        // Act
        var first = await stream.AskAsync(TestImages.Request(0, 4));
        var again = await stream.AskAsync(TestImages.Request(0, 4));

        // Assert
        Assert.All(TestImages.LogProbs(first), value => Assert.True(float.IsNaN(value)));
        Assert.Equal(0, again.CacheHits);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("not cached"));
    }
}
