using System.Diagnostics;
using StackExchange.Redis;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests;

/// <summary>A real redis-server and a teacher that caches in it.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public const string KeyPrefix = "ts:redis-tests:";
    private readonly TemporaryDirectory directory = new("teacher-redis-tests");

    public RedisServer Redis { get; private set; } = null!;
    public TeacherServer Server { get; private set; } = null!;
    public ReferenceTeacher Reference { get; private set; } = null!;
    public string Directory => directory.Path;

    public async Task InitializeAsync()
    {
        Redis = RedisServer.StartNew();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 1234);
        Reference = new ReferenceTeacher(checkpoint);
        Server = await StartTeacherAsync(checkpoint, Redis.ConnectionString);
    }

    public static Task<TeacherServer> StartTeacherAsync(string checkpoint, string redis) => TeacherServer.StartAsync(new Dictionary<string, string>
    {
        ["Teacher:Checkpoint"] = checkpoint,
        ["Teacher:Device"] = "cpu",
        ["Cache:Redis"] = redis,
        ["Cache:KeyPrefix"] = KeyPrefix,
    });

    /// <summary>How many soft targets Redis holds now.</summary>
    public int KeysInRedis()
    {
        using var connection = ConnectionMultiplexer.Connect($"{Redis.ConnectionString},allowAdmin=true");
        return connection.GetServer(connection.GetEndPoints()[0]).Keys(pattern: KeyPrefix + "*").Count();
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Reference.Dispose();
        Redis.Dispose();
        directory.Dispose();
    }
}

public sealed class RedisCacheTests(RedisFixture fixture) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task ASecondIdenticalRequestIsServedFromRedis()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();
        var request = TestImages.Request(6000, 24, temperature: 2f);
        var keysBefore = fixture.KeysInRedis();

        // Act
        var first = await stream.AskAsync(request);
        var keysAfterFirst = fixture.KeysInRedis();
        var second = await stream.AskAsync(request);

        // Assert
        Assert.Equal(0, first.CacheHits);
        Assert.Equal(keysBefore + 24, keysAfterFirst);
        Assert.Equal(24, second.CacheHits);
        Assert.Equal(first.LogProbs.Data, second.LogProbs.Data);
    }

    [Fact]
    public async Task ExamplesAnsweredOnceAreAnsweredFromRedisWhenSentAsDigests()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();
        var computed = await stream.AskAsync(TestImages.Request(6400, 24, temperature: 2f));
        var keys = fixture.KeysInRedis();

        // Act
        var looked = await stream.AskAsync(TestImages.DigestRequest(6400, 24, temperature: 2f));

        // Assert
        Assert.Equal(24, looked.CacheHits);
        Assert.Empty(looked.Missing);
        Assert.Equal(computed.LogProbs.Data, looked.LogProbs.Data);
        Assert.Equal(keys, fixture.KeysInRedis());
    }

    [Fact]
    public async Task AnotherCheckpointUnderTheSameNameNeverGetsTheOldVersionsEntries()
    {
        // Arrange: the old version has cached these examples in the shared Redis.
        await using (var stream = fixture.Server.OpenStream())
            await stream.AskAsync(TestImages.Request(6100, 16));
        var retrained = TeacherCheckpoints.Create(Path.Combine(fixture.Directory, "retrained.ckpt"), seed: 99);
        await using var newServer = await RedisFixture.StartTeacherAsync(retrained, fixture.Redis.ConnectionString);
        using var newReference = new ReferenceTeacher(retrained);
        await using var newStream = newServer.OpenStream();

        // Act
        var response = await newStream.AskAsync(TestImages.Request(6100, 16));

        // Assert
        Assert.Equal(0, response.CacheHits);
        Assert.NotEqual((await fixture.Server.Client.DescribeAsync(new DescribeRequest())).Teachers[0].Version, response.TeacherVersion);
        TestImages.AssertClose(newReference.LogProbs(TestImages.Pixels(6100, 16), 16, 1f), TestImages.LogProbs(response), 1e-5);
    }

    [Fact]
    public async Task WhenRedisStopsAnswersStayCorrectAndWhenItIsBackHitsResume()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();
        var request = TestImages.Request(6200, 16, temperature: 3f);
        var expected = fixture.Reference.LogProbs(TestImages.Pixels(6200, 16), 16, 3f);
        await stream.AskAsync(request);
        Assert.Equal(16, (await stream.AskAsync(request)).CacheHits);

        try
        {
            // Act 1: Redis goes away.
            fixture.Redis.Stop();
            var duringOutage = new List<(SoftTargetsResponse Response, TimeSpan Took)>();
            for (int i = 0; i < 5; i++)
            {
                var watch = Stopwatch.StartNew();
                duringOutage.Add((await stream.AskAsync(request), watch.Elapsed));
            }

            // Assert 1: every batch answered, from the model, correctly, without waiting on Redis.
            Assert.All(duringOutage, answer =>
            {
                Assert.Equal(0, answer.Response.CacheHits);
                TestImages.AssertClose(expected, TestImages.LogProbs(answer.Response), 1e-5);
                Assert.True(answer.Took < TimeSpan.FromSeconds(3), $"a batch took {answer.Took} while Redis was down.");
            });
        }
        finally
        {
            // Act 2: Redis is back (empty: it keeps nothing on disk).
            fixture.Redis.Start();
        }

        // Assert 2: within a few seconds the multiplexer has reconnected and answers are hits again.
        var deadline = Stopwatch.StartNew();
        SoftTargetsResponse latest;
        do
        {
            latest = await stream.AskAsync(request);
            TestImages.AssertClose(expected, TestImages.LogProbs(latest), 1e-5);
            if (latest.CacheHits == 16) break;
            await Task.Delay(200);
        } while (deadline.Elapsed < TimeSpan.FromSeconds(20));
        Assert.Equal(16, latest.CacheHits);
    }

    [Fact]
    public async Task ATeacherWhoseRedisIsDownFromTheStartStillAnswers()
    {
        // Arrange: nothing listens on this port.
        var checkpoint = Path.Combine(fixture.Directory, "teacher.ckpt");
        await using var server = await RedisFixture.StartTeacherAsync(checkpoint, $"127.0.0.1:{FreePort.Next()}");
        await using var stream = server.OpenStream();

        // Act
        var first = await stream.AskAsync(TestImages.Request(6300, 8));
        var second = await stream.AskAsync(TestImages.Request(6300, 8));

        // Assert
        Assert.Equal(0, second.CacheHits);
        TestImages.AssertClose(fixture.Reference.LogProbs(TestImages.Pixels(6300, 8), 8, 1f), TestImages.LogProbs(second), 1e-5);
        Assert.Equal(first.LogProbs.Data, second.LogProbs.Data);
    }
}
