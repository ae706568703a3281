using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Rpc;

/// <summary>What the log keeps of a refused request whose fields are huge: a short prefix of each, with its length.</summary>
public sealed class EchoedInputLogTests : IAsyncLifetime
{
    private readonly TemporaryDirectory directory = new("echoed-input-log");
    private readonly RecordedLogs logs = new();
    private TeacherServer server = null!;

    public async Task InitializeAsync()
    {
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 41);
        server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teacher:Name"] = "fashion",
            ["Teacher:Checkpoint"] = checkpoint,
            ["Teacher:Device"] = "cpu",
            // Refused batches are logged at Information.
            ["Logging:LogLevel:TeacherStudent"] = "Information",
        }, services => services.AddSingleton<ILoggerProvider>(logs));
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        directory.Dispose();
    }

    [Fact]
    public async Task ARefusedBatchWithATenThousandCharacterTeacherNameAndRequestIdIsLoggedWithShortPrefixes()
    {
        // Arrange
        var request = TestImages.Request(0, 2, id: new string('r', 10_000));
        request.Teacher = new string('t', 10_000);
        await using var stream = server.OpenStream();

        // Act
        var response = await stream.AskAsync(request);

        // Assert: refused, and the log line names both by 64 characters and their length.
        Assert.Equal(5, response.Error.Code);
        var line = Assert.Single(logs.Entries, e => e.Message.StartsWith("Rejected ", StringComparison.Ordinal));
        Assert.Contains($"{new string('r', 64)}…(10000 chars)", line.Message);
        Assert.Contains($"{new string('t', 64)}…(10000 chars)", line.Message);
        Assert.InRange(line.Message.Length, 1, 800);
    }
}
