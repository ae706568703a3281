using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Auth;

/// <summary>
/// Keys in files (Auth:ApiKeysFile, Auth:AdminKeyFile) changed under a running service: a key added is accepted and a
/// key removed refused from the next call after the change is seen, with no restart; the two overlap during a rotation.
/// </summary>
public sealed class KeyRotationTests : IAsyncLifetime
{
    private const string OldKey = "old-caller-key-0001";
    private const string NewKey = "new-caller-key-0002";
    private const string OldAdmin = "old-admin-key-0001";
    private const string NewAdmin = "new-admin-key-0002";
    private static readonly TimeSpan SeenWithin = TimeSpan.FromSeconds(20);
    private readonly TemporaryDirectory directory = new("key-rotation-tests");
    private readonly RecordedLogs logs = new();
    private TeacherServer server = null!;

    private string KeysFile => directory.File("keys/api-keys");
    private string AdminFile => directory.File("keys/admin-key");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(directory.File("keys"));
        await File.WriteAllTextAsync(KeysFile, $"# caller keys\n{OldKey}\n");
        await File.WriteAllTextAsync(AdminFile, OldAdmin + "\n");
        server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teacher:Checkpoint"] = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 77),
            ["Teacher:Device"] = "cpu",
            ["Auth:ApiKeysFile"] = KeysFile,
            ["Auth:AdminKeyFile"] = AdminFile,
            // Long, so that the file watcher is what makes a change seen quickly; the periodic read is the fallback.
            ["Auth:KeyFilesCheckMilliseconds"] = "5000",
            ["Logging:LogLevel:TeacherStudent"] = "Information",
        }, services => services.AddSingleton<ILoggerProvider>(logs));
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        directory.Dispose();
    }

    [Fact]
    public async Task ACallerKeyRotatesWithoutARestartTheTwoOverlappingInBetween()
    {
        // Arrange
        Assert.Equal(StatusCode.OK, await DescribeWith(OldKey));
        Assert.Equal(StatusCode.Unauthenticated, await DescribeWith(NewKey));

        // Act 1: the new key is added beside the old one (written in place, as an editor would).
        await File.WriteAllTextAsync(KeysFile, $"{OldKey}\n{NewKey}\n");
        await Until(async () => await DescribeWith(NewKey) == StatusCode.OK);

        // Assert 1: both hold.
        Assert.Equal(StatusCode.OK, await DescribeWith(OldKey));

        // Act 2: the old key goes (replaced by a rename, as Kubernetes updates a mounted Secret).
        await File.WriteAllTextAsync(directory.File("keys/.api-keys.tmp"), $"{NewKey}\n");
        File.Move(directory.File("keys/.api-keys.tmp"), KeysFile, overwrite: true);
        await Until(async () => await DescribeWith(OldKey) == StatusCode.Unauthenticated);

        // Assert 2: the old key is refused on every call from then on, the new one answered.
        for (int i = 0; i < 5; i++) Assert.Equal(StatusCode.Unauthenticated, await DescribeWith(OldKey));
        Assert.Equal(StatusCode.OK, await DescribeWith(NewKey));
        Assert.Contains(logs.Entries, e => e.Message.StartsWith("API keys read again from their files: 1 caller keys added, 0 removed", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.Message.StartsWith("API keys read again from their files: 0 caller keys added, 1 removed", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(OldKey, StringComparison.Ordinal) || e.Message.Contains(NewKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnAdminKeyRotatesAndAnEmptiedFileKeepsTheKeysBefore()
    {
        // Act 1: the admin key is replaced.
        await File.WriteAllTextAsync(AdminFile, NewAdmin);
        await Until(async () => await AdminCallWith(NewAdmin) != StatusCode.Unauthenticated);

        // Assert 1: the old admin key is no key at all now; the new one reaches the admin service.
        Assert.Equal(StatusCode.Unauthenticated, await AdminCallWith(OldAdmin));

        // Act 2: the caller keys' file is emptied (a mistake, or a writer caught half way).
        await File.WriteAllTextAsync(KeysFile, "\n");
        await Until(() => Task.FromResult(logs.Entries.Any(e => e.Message.StartsWith("API key files not taken", StringComparison.Ordinal))));

        // Assert 2: the keys read before stay; the service is not opened to callers without a key.
        Assert.Equal(StatusCode.OK, await DescribeWith(OldKey));
        Assert.Equal(StatusCode.Unauthenticated, await DescribeWith(null));
    }

    [Fact]
    public void AKeyFileThatHoldsNoKeyStopsStartUpNamingIt()
    {
        // Arrange
        var empty = directory.File("keys/empty");
        File.WriteAllText(empty, "# no key yet\n\n");

        // Act
        var refusal = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(
            ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=None", $"--Teacher:Checkpoint={directory.File("teacher.ckpt")}", "--Teacher:Device=cpu",
             $"--Auth:ApiKeysFile={empty}"]));

        // Assert
        Assert.Equal($"Auth:ApiKeysFile '{empty}' holds no key (one per line; blank lines and lines starting with # are skipped).", refusal.Message);
    }

    private async Task<StatusCode> DescribeWith(string? key)
    {
        try
        {
            await server.Client.DescribeAsync(new DescribeRequest(), key is null ? null : ApiKeys.Header(key));
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    // An admin rpc with a bad request: past the key check it is refused for the request, not the key.
    private async Task<StatusCode> AdminCallWith(string key)
    {
        try
        {
            await server.Admin.LoadCheckpointAsync(new LoadCheckpointRequest { Teacher = "no-such-teacher", CheckpointPath = "" }, ApiKeys.Header(key));
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    private static async Task Until(Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < SeenWithin, $"the change was not seen within {SeenWithin.TotalSeconds} s.");
            await Task.Delay(100);
        }
    }
}
