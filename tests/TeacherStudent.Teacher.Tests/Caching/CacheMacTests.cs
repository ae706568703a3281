using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using TeacherStudent.Teacher.Caching;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Caching;

/// <summary>
/// Cache:KeySecret against a real redis-server: every value carries a MAC, a value written by anything without the
/// secret (a forged target, another key's value, a teacher without the secret) is dropped, computed again and written
/// over; teachers holding the same secret share their targets.
/// </summary>
public sealed class CacheMacTests : IDisposable
{
    private const string KeyPrefix = "ts:mac-tests:";
    private const int Classes = 10;
    private readonly TemporaryDirectory directory = new("cache-mac-tests");
    private readonly RedisServer redis = RedisServer.StartNew();
    private readonly string checkpoint;
    private readonly ReferenceTeacher reference;

    public CacheMacTests()
    {
        checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 2024);
        reference = new ReferenceTeacher(checkpoint);
        File.WriteAllText(directory.File("secret"), new string('k', 32) + "0123456789abcdef0123456789abcdef\n");
        File.WriteAllText(directory.File("other-secret"), new string('o', 64) + "\n");
    }

    [Fact]
    public async Task ValuesCarryATagAndTeachersWithTheSameSecretShareThem()
    {
        // Arrange
        await using var first = await StartTeacherAsync(directory.File("secret"), new RecordedLogs());
        await using var second = await StartTeacherAsync(directory.File("secret"), new RecordedLogs());
        await using var firstStream = first.OpenStream();
        await using var secondStream = second.OpenStream();

        // Act
        var computed = await firstStream.AskAsync(TestImages.Request(500, 8));
        var shared = await secondStream.AskAsync(TestImages.Request(500, 8));

        // Assert
        Assert.Equal((0, 8), (computed.CacheHits, shared.CacheHits));
        Assert.Equal(computed.LogProbs.Data, shared.LogProbs.Data);
        Assert.All(StoredValues(), value => Assert.Equal(Classes * sizeof(float) + AuthenticatedSoftTargetCache.TagBytes, value.Length));
    }

    [Fact]
    public async Task AForgedValueAndAValueMovedToAnotherKeyAreDroppedComputedAgainAndWrittenOver()
    {
        // Arrange: the targets of 8 examples cached under the MAC; then two of them changed in Redis.
        var logs = new RecordedLogs();
        await using var server = await StartTeacherAsync(directory.File("secret"), logs);
        await using var stream = server.OpenStream();
        await stream.AskAsync(TestImages.Request(600, 8));
        using (var connection = Connect())
        {
            var db = connection.GetDatabase();
            var keys = StoredKeys(connection);
            byte[] other = (await db.StringGetAsync(keys[1]))!;
            byte[] forged = (await db.StringGetAsync(keys[0]))!;
            forged[0] ^= 0x40; // one bit of the first log-probability: a wrong target, its old tag kept
            await db.StringSetAsync(keys[0], forged);
            await db.StringSetAsync(keys[2], other); // a real value of another example, tag and all
        }

        // Act
        var afterForgery = await stream.AskAsync(TestImages.Request(600, 8));
        var afterRewrite = await stream.AskAsync(TestImages.Request(600, 8));

        // Assert: the two are computed (the answers are the teacher's own), written over, and hit afterwards.
        Assert.Equal(6, afterForgery.CacheHits);
        TestImages.AssertClose(reference.LogProbs(TestImages.Pixels(600, 8), 8, 1f), TestImages.LogProbs(afterForgery), 1e-5);
        Assert.Equal(8, afterRewrite.CacheHits);
        var warning = Assert.Single(logs.Entries, e => e.Message.Contains("failed their MAC", StringComparison.Ordinal));
        Assert.StartsWith("2 of 8 cached values failed their MAC", warning.Message);
    }

    [Fact]
    public async Task ValuesWrittenWithoutTheSecretOrWithAnotherAreNotTaken()
    {
        // Arrange: one teacher without a MAC and one with another secret fill the cache first.
        await using (var plain = await StartTeacherAsync(secretFile: null, new RecordedLogs()))
        await using (var plainStream = plain.OpenStream())
            await plainStream.AskAsync(TestImages.Request(700, 6));
        await using (var other = await StartTeacherAsync(directory.File("other-secret"), new RecordedLogs()))
        await using (var otherStream = other.OpenStream())
            await otherStream.AskAsync(TestImages.Request(706, 6));
        await using var server = await StartTeacherAsync(directory.File("secret"), new RecordedLogs());
        await using var stream = server.OpenStream();

        // Act
        var plainValues = await stream.AskAsync(TestImages.Request(700, 6));
        var otherValues = await stream.AskAsync(TestImages.Request(706, 6));

        // Assert
        Assert.Equal((0, 0), (plainValues.CacheHits, otherValues.CacheHits));
        TestImages.AssertClose(reference.LogProbs(TestImages.Pixels(700, 6), 6, 1f), TestImages.LogProbs(plainValues), 1e-5);
    }

    [Theory]
    [InlineData(40)]
    [InlineData(4096)] // a language model's row: key and value go into the MAC in three appends, not one
    public async Task AValueOfAnySizeIsCheckedByEveryBitOfItsValueAndItsKey(int size)
    {
        // Arrange
        using var metricsServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var inner = new InProcessSoftTargetCache(Microsoft.Extensions.Options.Options.Create(new TeacherStudent.Teacher.Options.CacheOptions()));
        var cache = new AuthenticatedSoftTargetCache(inner, System.Text.Encoding.UTF8.GetBytes(new string('s', 32)),
            new Telemetry.TeacherMetrics(metricsServices.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<AuthenticatedSoftTargetCache>.Instance);
        var value = Enumerable.Range(0, size).Select(i => (byte)(i * 7)).ToArray();
        byte[] key = [1, 2, 3, 4], otherKey = [1, 2, 3, 5];
        await cache.SetManyAsync([key], [value], CancellationToken.None);
        var stored = (await inner.GetManyAsync([key], CancellationToken.None))[0]!;

        // Act: the value read back; then a bit of the value, a bit of the tag, and the key changed in turn.
        var read = (await cache.GetManyAsync([key], CancellationToken.None))[0];
        var rejected = new List<bool>();
        foreach (var position in new[] { 0, size - 1, size, stored.Length - 1 })
        {
            var tampered = (byte[])stored.Clone();
            tampered[position] ^= 1;
            await inner.SetManyAsync([key], [tampered], CancellationToken.None);
            rejected.Add((await cache.GetManyAsync([key], CancellationToken.None))[0] is null);
        }
        await inner.SetManyAsync([otherKey], [stored], CancellationToken.None);
        rejected.Add((await cache.GetManyAsync([otherKey], CancellationToken.None))[0] is null);

        // Assert
        Assert.Equal(size + AuthenticatedSoftTargetCache.TagBytes, stored.Length);
        Assert.Equal(value, read);
        Assert.All(rejected, Assert.True);
    }

    [Fact]
    public void AShortSecretStopsStartUp()
    {
        // Arrange
        File.WriteAllText(directory.File("short"), "hunter2");

        // Act
        var refusal = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(
            ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=None", $"--Teacher:Checkpoint={checkpoint}", "--Teacher:Device=cpu",
             $"--Cache:Redis={redis.ConnectionString}", $"--Cache:KeySecretFile={directory.File("short")}"]));

        // Assert
        Assert.StartsWith("Cache:KeySecret is 7 characters long", refusal.Message);
        Assert.DoesNotContain("hunter2", refusal.Message);
    }

    private Task<TeacherServer> StartTeacherAsync(string? secretFile, RecordedLogs logs)
    {
        var settings = new Dictionary<string, string>
        {
            ["Teacher:Checkpoint"] = checkpoint,
            ["Teacher:Device"] = "cpu",
            ["Cache:Redis"] = redis.ConnectionString,
            ["Cache:KeyPrefix"] = KeyPrefix,
        };
        if (secretFile is not null) settings["Cache:KeySecretFile"] = secretFile;
        return TeacherServer.StartAsync(settings, services => services.AddSingleton<ILoggerProvider>(logs));
    }

    private ConnectionMultiplexer Connect() => ConnectionMultiplexer.Connect($"{redis.ConnectionString},allowAdmin=true");

    private static RedisKey[] StoredKeys(ConnectionMultiplexer connection) =>
        connection.GetServer(connection.GetEndPoints()[0]).Keys(pattern: KeyPrefix + "*").OrderBy(k => k.ToString(), StringComparer.Ordinal).ToArray();

    private byte[][] StoredValues()
    {
        using var connection = Connect();
        var db = connection.GetDatabase();
        return StoredKeys(connection).Select(k => (byte[])db.StringGet(k)!).ToArray();
    }

    public void Dispose()
    {
        reference.Dispose();
        redis.Dispose();
        directory.Dispose();
    }
}
