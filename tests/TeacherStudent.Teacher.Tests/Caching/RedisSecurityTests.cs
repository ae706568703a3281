using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Caching;

/// <summary>
/// A real redis-server that needs a password, and one that speaks only TLS and wants a client certificate: the
/// teacher caches in them when its settings are right, and when they are wrong says so in one line and answers
/// every target from its own forward, never failing a call.
/// </summary>
public sealed class RedisSecurityTests : IDisposable
{
    private const string Password = "correct horse battery staple";
    private const string KeyPrefix = "ts:redis-security-tests:";
    private readonly TemporaryDirectory directory = new("teacher-redis-security");
    private readonly string checkpoint;
    private readonly ReferenceTeacher reference;

    public RedisSecurityTests()
    {
        checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 1717);
        reference = new ReferenceTeacher(checkpoint);
        File.WriteAllText(directory.File("redis-password"), Password + "\n");
        File.WriteAllText(directory.File("wrong-password"), "not the password\n");
    }

    [Fact]
    public async Task ATeacherWithThePasswordInAFileCachesInARedisThatNeedsOne()
    {
        // Arrange
        using var redis = RedisServer.StartNew(Password, tls: null);
        await using var server = await StartTeacherAsync(redis, new() { ["Cache:RedisPasswordFile"] = directory.File("redis-password") }, new RecordedLogs());
        await using var stream = server.OpenStream();

        // Act
        var first = await stream.AskAsync(TestImages.Request(100, 12));
        var second = await stream.AskAsync(TestImages.Request(100, 12));

        // Assert
        Assert.Equal(0, first.CacheHits);
        Assert.Equal(12, second.CacheHits);
        Assert.Equal(12, KeysIn(redis, Password, tls: null));
    }

    [Fact]
    public async Task AWrongPasswordIsOneLineAndEveryTargetIsComputed()
    {
        // Arrange
        using var redis = RedisServer.StartNew(Password, tls: null);
        var logs = new RecordedLogs();
        await using var server = await StartTeacherAsync(redis, new() { ["Cache:RedisPasswordFile"] = directory.File("wrong-password") }, logs);
        await using var stream = server.OpenStream();

        // Act: batches for a few seconds, while the multiplexer tries again and again.
        var answers = new List<Contracts.V1.SoftTargetsResponse>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(4) || answers.Count < 3)
        {
            answers.Add(await stream.AskAsync(TestImages.Request(200, 8)));
            await Task.Delay(200);
        }

        // Assert
        var refused = Refusals(logs);
        var line = Assert.Single(refused);
        Assert.Contains("refused this service's password", line.Message);
        Assert.DoesNotContain("not the password", line.Message);
        Assert.All(answers, answer => Assert.Equal(0, answer.CacheHits));
        TestImages.AssertClose(reference.LogProbs(TestImages.Pixels(200, 8), 8, 1f), TestImages.LogProbs(answers[^1]), 1e-5);
        Assert.Equal(0, KeysIn(redis, Password, tls: null));
    }

    [Fact]
    public async Task ATeacherReachesATlsOnlyRedisThatWantsAClientCertificate()
    {
        // Arrange
        using var authority = new TestAuthority(directory.Path);
        var (serverCertificate, serverKey) = authority.Issue("redis", ["localhost"], [IPAddress.Loopback]);
        var (clientCertificate, clientKey) = authority.Issue("teacher-client", ["teacher"], client: true);
        var tls = new RedisTls(serverCertificate, serverKey, authority.CaFile, RequireClientCertificates: true, clientCertificate, clientKey);
        using var redis = RedisServer.StartNew(Password, tls);
        await using var server = await StartTeacherAsync(redis, new()
        {
            ["Cache:RedisPasswordFile"] = directory.File("redis-password"),
            ["Cache:RedisTls"] = "true",
            ["Cache:RedisTlsCaFile"] = authority.CaFile,
            ["Cache:RedisTlsCertificateFile"] = clientCertificate,
            ["Cache:RedisTlsKeyFile"] = clientKey,
        }, new RecordedLogs());
        await using var stream = server.OpenStream();

        // Act
        var first = await stream.AskAsync(TestImages.Request(300, 10));
        var second = await stream.AskAsync(TestImages.Request(300, 10));

        // Assert
        Assert.Equal(0, first.CacheHits);
        Assert.Equal(10, second.CacheHits);
        Assert.Equal(10, KeysIn(redis, Password, tls));
    }

    [Fact]
    public async Task ARedisCertificateTheTeacherDoesNotTrustIsOneLineAndEveryTargetIsComputed()
    {
        // Arrange: the teacher is not given the authority, and the machine's store does not hold it.
        using var authority = new TestAuthority(directory.Path);
        var (serverCertificate, serverKey) = authority.Issue("redis", ["localhost"], [IPAddress.Loopback]);
        var tls = new RedisTls(serverCertificate, serverKey, authority.CaFile, RequireClientCertificates: false);
        using var redis = RedisServer.StartNew(Password, tls);
        var logs = new RecordedLogs();
        await using var server = await StartTeacherAsync(redis, new()
        {
            ["Cache:RedisPasswordFile"] = directory.File("redis-password"),
            ["Cache:RedisTls"] = "true",
        }, logs);
        await using var stream = server.OpenStream();

        // Act
        var answers = new List<Contracts.V1.SoftTargetsResponse>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(3) || answers.Count < 3)
        {
            answers.Add(await stream.AskAsync(TestImages.Request(400, 6)));
            await Task.Delay(200);
        }

        // Assert
        Assert.Single(Refusals(logs));
        Assert.All(answers, answer => Assert.Equal(0, answer.CacheHits));
        TestImages.AssertClose(reference.LogProbs(TestImages.Pixels(400, 6), 6, 1f), TestImages.LogProbs(answers[^1]), 1e-5);
        Assert.Equal(0, KeysIn(redis, Password, tls));
    }

    [Theory]
    [InlineData("--Cache:RedisPassword=hunter2", "Cache:RedisPassword is given on the command line")]
    [InlineData("--Cache:KeySecret=hunter2", "Cache:KeySecret is given on the command line")]
    [InlineData("--Cache:Redis=127.0.0.1:1,password=hunter2", "Cache:Redis is given on the command line with a password in it")]
    public void ASecretOnTheCommandLineStopsStartUpWithoutEchoingIt(string argument, string expected)
    {
        // Act
        var refusal = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(
            ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=None", $"--Teacher:Checkpoint={checkpoint}", "--Teacher:Device=cpu", argument]));

        // Assert
        Assert.StartsWith(expected, refusal.Message);
        Assert.DoesNotContain("hunter2", refusal.Message);
    }

    [Fact]
    public void APasswordFileThatCannotBeReadStopsStartUpNamingIt()
    {
        // Act
        var refusal = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(
            ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=None", $"--Teacher:Checkpoint={checkpoint}", "--Teacher:Device=cpu",
             "--Cache:Redis=127.0.0.1:1", $"--Cache:RedisPasswordFile={directory.File("no-such-file")}"]));

        // Assert
        Assert.StartsWith($"Cache:RedisPasswordFile '{directory.File("no-such-file")}' cannot be read", refusal.Message);
    }

    private static IReadOnlyList<RecordedLogs.Entry> Refusals(RecordedLogs logs) =>
        logs.Entries.Where(e => e.Message.StartsWith("Redis at ", StringComparison.Ordinal) && e.Message.Contains("refused", StringComparison.Ordinal)).ToArray();

    private Task<TeacherServer> StartTeacherAsync(RedisServer redis, Dictionary<string, string> settings, RecordedLogs logs)
    {
        settings["Teacher:Checkpoint"] = checkpoint;
        settings["Teacher:Device"] = "cpu";
        settings["Cache:Redis"] = redis.ConnectionString;
        settings["Cache:KeyPrefix"] = KeyPrefix;
        return TeacherServer.StartAsync(settings, services => services.AddSingleton<ILoggerProvider>(logs));
    }

    // How many targets the test's own connection (with the password, over TLS as the server needs) finds.
    private static int KeysIn(RedisServer redis, string password, RedisTls? tls)
    {
        var options = ConfigurationOptions.Parse($"{redis.ConnectionString},allowAdmin=true");
        options.Password = password;
        if (tls is not null)
        {
            options.Ssl = true;
            options.TrustIssuer(tls.CaFile);
            if (tls.RequireClientCertificates)
            {
                var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(tls.ClientCertificateFile!, tls.ClientKeyFile);
                options.CertificateSelection += (_, _, _, _, _) => certificate;
            }
        }
        using var connection = ConnectionMultiplexer.Connect(options);
        return connection.GetServer(connection.GetEndPoints()[0]).Keys(pattern: KeyPrefix + "*").Count();
    }

    public void Dispose()
    {
        reference.Dispose();
        directory.Dispose();
    }
}
