using System.Collections.Concurrent;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests;

/// <summary>New teacher versions dropped into the watched folder (Registry:WatchDirectory), each test with its own service.</summary>
public sealed class WatchedFolderTests : IAsyncLifetime
{
    private readonly TemporaryDirectory directory = new("watched-folder-tests");
    private CheckpointFolder.Versions versions = null!;
    private TeacherServer server = null!;

    private string Watched => Path.Combine(directory.Path, "watched");
    private string Served => Path.Combine(Watched, "fashion.ckpt");

    public async Task InitializeAsync()
    {
        versions = new CheckpointFolder.Versions(directory.Path, 11, 12, 13);
        Directory.CreateDirectory(Watched);
        CheckpointFolder.Publish(versions.Paths[0], Served);
        server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teacher:Name"] = "fashion",
            ["Teacher:Checkpoint"] = Served,
            ["Teacher:Device"] = "cpu",
            ["Registry:WatchDirectory"] = Watched,
            ["Registry:WatchDebounceMilliseconds"] = "50",
        });
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        versions.Dispose();
        directory.Dispose();
    }

    [Fact]
    public async Task ReplacingTheCheckpointSwapsTheVersionAndLaterRepliesCarryTheNewTargetsNotCachedOldOnes()
    {
        // Arrange: the old version's answer for these images is in the cache.
        var (v1, v2) = (versions.Digests[0], versions.Digests[1]);
        var request = TestImages.Request(700, 16, temperature: 2f);
        await using (var before = server.OpenStream())
        {
            await before.AskAsync(request);
            Assert.Equal(16, (await before.AskAsync(request)).CacheHits);
        }

        // Act
        CheckpointFolder.Publish(versions.Paths[1], Served);
        var info = await CheckpointFolder.DescribeUntilAsync(server, "fashion", t => t.Version != v1);
        await using var after = server.OpenStream();
        var response = await after.AskAsync(request);

        // Assert
        Assert.Equal(v2, info.Version);
        Assert.Equal("", info.LastLoadError);
        TestImages.AssertSucceeded(response);
        Assert.Equal(v2, response.TeacherVersion);
        Assert.Equal(0, response.CacheHits);
        var expected = versions.Reference(v2).LogProbs(TestImages.Pixels(700, 16), 16, 2f);
        TestImages.AssertClose(expected, TestImages.LogProbs(response), 1e-5);
        Assert.NotEqual(versions.Reference(v1).LogProbs(TestImages.Pixels(700, 16), 16, 2f), expected);
    }

    [Fact]
    public async Task AGarbageFileLeavesTheOldVersionServingAndDescribeReportsTheLoadError()
    {
        // Arrange
        var v1 = versions.Digests[0];

        // Act
        CheckpointFolder.PublishBytes("this is not a checkpoint"u8.ToArray(), Served);
        var info = await CheckpointFolder.DescribeUntilAsync(server, "fashion", t => t.LastLoadError != "");
        await using var stream = server.OpenStream();
        var response = await stream.AskAsync(TestImages.Request(800, 4));

        // Assert
        Assert.Equal(v1, info.Version);
        Assert.Contains(Path.GetFileName(Served), info.LastLoadError);
        Assert.DoesNotContain(Path.GetDirectoryName(Served)!, info.LastLoadError); // an open service's callers hold no admin key
        Assert.Contains("checkpoint", info.LastLoadError);
        TestImages.AssertSucceeded(response);
        Assert.Equal(v1, response.TeacherVersion);
        TestImages.AssertClose(versions.Reference(v1).LogProbs(TestImages.Pixels(800, 4), 4, 1f), TestImages.LogProbs(response), 1e-5);
    }

    [Fact]
    public async Task AGoodFileAfterAGarbageOneSwapsAndClearsTheLoadError()
    {
        // Arrange
        CheckpointFolder.PublishBytes("garbage"u8.ToArray(), Served);
        await CheckpointFolder.DescribeUntilAsync(server, "fashion", t => t.LastLoadError != "");

        // Act
        CheckpointFolder.Publish(versions.Paths[2], Served);
        var info = await CheckpointFolder.DescribeUntilAsync(server, "fashion", t => t.Version == versions.Digests[2]);

        // Assert
        Assert.Equal("", info.LastLoadError);
    }

    [Fact]
    public async Task AFileForATeacherTheServiceDoesNotHoldIsIgnored()
    {
        // Arrange: a file for an unknown name, then a real swap, so that the folder has surely been looked at.
        CheckpointFolder.Publish(versions.Paths[1], Path.Combine(Watched, "stranger.ckpt"));
        CheckpointFolder.Publish(versions.Paths[1], Served);

        // Act
        await CheckpointFolder.DescribeUntilAsync(server, "fashion", t => t.Version == versions.Digests[1]);
        var all = await server.Client.DescribeAsync(new DescribeRequest());

        // Assert
        Assert.Equal(["fashion"], all.Teachers.Select(t => t.Name));
    }

    [Fact]
    public async Task DuringSwapsUnderLoadEveryReplyCarriesTheTargetsOfTheVersionItNames()
    {
        // Arrange: four students ask without pause, from a small pool of batches so that the cache hits too.
        const int students = 4, batchSize = 8;
        float[] temperatures = [1f, 2f];
        var replies = new ConcurrentBag<(string Version, int Start, float Temperature, float[] LogProbs)>();
        var errors = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, students).Select(s => Task.Run(async () =>
        {
            await using var stream = server.OpenStream();
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                var start = 900 + (s + i) % 6 * batchSize;
                var temperature = temperatures[i % 2];
                var response = await stream.AskAsync(TestImages.Request(start, batchSize, temperature));
                if (response.ResultCase != SoftTargetsResponse.ResultOneofCase.LogProbs) errors.Add(response.Error.Message);
                else replies.Add((response.TeacherVersion, start, temperature, TestImages.LogProbs(response)));
            }
        })).ToArray();

        // Act: two swaps while they ask, each once the version before it has answered (not after a
        // fixed pause, which a loaded machine could spend without a reply).
        Task AnsweredByAsync(int version) => BatchingTeacher.EventuallyAsync(
            () => !errors.IsEmpty || replies.Any(r => r.Version == versions.Digests[version]), $"a reply of version {version}", seconds: 60);
        await AnsweredByAsync(0);
        CheckpointFolder.Publish(versions.Paths[1], Served);
        await CheckpointFolder.DescribeUntilAsync(server, "fashion", t => t.Version == versions.Digests[1]);
        await AnsweredByAsync(1);
        CheckpointFolder.Publish(versions.Paths[2], Served);
        await CheckpointFolder.DescribeUntilAsync(server, "fashion", t => t.Version == versions.Digests[2]);
        await AnsweredByAsync(2);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        // Assert
        Assert.Empty(errors);
        Assert.Equal(versions.Digests.Order(), replies.Select(r => r.Version).Distinct().Order());
        var expected = new Dictionary<(string, int, float), float[]>();
        foreach (var (version, start, temperature, logProbs) in replies)
        {
            if (!expected.TryGetValue((version, start, temperature), out var reference))
                expected[(version, start, temperature)] = reference =
                    versions.Reference(version).LogProbs(TestImages.Pixels(start, batchSize), batchSize, temperature);
            TestImages.AssertClose(reference, logProbs, 1e-5);
        }
    }
}
