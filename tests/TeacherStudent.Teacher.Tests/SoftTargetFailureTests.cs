using Microsoft.Extensions.DependencyInjection;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Caching;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests;

public sealed class SoftTargetFailureTests
{
    [Fact]
    public async Task AnUnexpectedFailureInOneBatchIsAnInternalErrorForThatBatchAndTheStreamGoesOn()
    {
        // Arrange: a cache whose first lookup throws.
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 7);
        await using var server = await TeacherServer.StartAsync(
            new Dictionary<string, string> { ["Teacher:Checkpoint"] = checkpoint, ["Teacher:Device"] = "cpu" },
            services => services.AddSingleton<ISoftTargetCache>(new FailingOnceCache()));
        await using var stream = server.OpenStream();

        // Act
        var failed = await stream.AskAsync(TestImages.Request(0, 4, id: "unlucky"));
        var next = await stream.AskAsync(TestImages.Request(0, 4, id: "next"));

        // Assert
        Assert.Equal(SoftTargetsResponse.ResultOneofCase.Error, failed.ResultCase);
        Assert.Equal(13, failed.Error.Code);
        Assert.Equal("unlucky", failed.RequestId);
        TestImages.AssertSucceeded(next);
    }

    private sealed class FailingOnceCache : ISoftTargetCache
    {
        private int calls;

        public Task<byte[]?[]> GetManyAsync(IReadOnlyList<byte[]> keys, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref calls) == 1
                ? throw new InvalidOperationException("a failure nobody planned for")
                : Task.FromResult(new byte[]?[keys.Count]);

        public Task SetManyAsync(IReadOnlyList<byte[]> keys, IReadOnlyList<byte[]> values, CancellationToken cancellationToken) =>
            Task.CompletedTask;
    }
}
