using Grpc.Core;
using Microsoft.Extensions.Options;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Registry;

/// <summary>
/// Registry:AllowedDirectories: the admin rpc loads only from the folders it names (by default, those of the
/// configured checkpoints and the watched folder), after "..", "." and links are resolved; a path outside is
/// PERMISSION_DENIED in words that are the same whether anything is there or not.
/// </summary>
public sealed class AllowedCheckpointFoldersTests : IDisposable
{
    private readonly TemporaryDirectory directory = new("allowed-folders-tests");

    private string Allowed => directory.File("allowed");
    private string Outside => directory.File("outside");

    public AllowedCheckpointFoldersTests()
    {
        Directory.CreateDirectory(Allowed);
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Outside, "secret.ckpt"), "not for callers");
    }

    [Fact]
    public void APathIsAllowedInsideAConfiguredFolderAndNowhereElse()
    {
        // Arrange
        var folders = Folders(allowed: [Allowed]);
        Directory.CreateSymbolicLink(Path.Combine(Allowed, "escape"), Outside);
        File.CreateSymbolicLink(Path.Combine(Allowed, "escape.ckpt"), Path.Combine(Outside, "secret.ckpt"));
        Directory.CreateDirectory(Path.Combine(Allowed, "models"));
        Directory.CreateSymbolicLink(Path.Combine(Allowed, "current"), "models"); // relative, and staying inside

        // Act
        bool Allows(string path) => folders.TryResolve(path, out _);

        // Assert
        Assert.True(Allows(Path.Combine(Allowed, "fashion.ckpt")));
        Assert.True(Allows(Path.Combine(Allowed, "models", "qwen3", "config.json")));
        Assert.True(Allows(Path.Combine(Allowed, "current", "qwen3")));
        Assert.True(Allows(Allowed));
        Assert.False(Allows(Path.Combine(Outside, "secret.ckpt")));
        Assert.False(Allows(Path.Combine(Allowed, "..", "outside", "secret.ckpt")));
        Assert.False(Allows(Path.Combine(Allowed, "escape", "secret.ckpt")));
        Assert.False(Allows(Path.Combine(Allowed, "escape.ckpt")));
        Assert.False(Allows(Allowed + "-sibling/fashion.ckpt")); // a prefix of the name is not the folder
        Assert.False(Allows("/etc/passwd"));
    }

    [Fact]
    public void ALoopOfLinksIsNotAllowed()
    {
        // Arrange
        var folders = Folders(allowed: [Allowed]);
        Directory.CreateSymbolicLink(Path.Combine(Allowed, "a"), Path.Combine(Allowed, "b"));
        Directory.CreateSymbolicLink(Path.Combine(Allowed, "b"), Path.Combine(Allowed, "a"));

        // Act
        var allowed = folders.TryResolve(Path.Combine(Allowed, "a", "model.ckpt"), out _);

        // Assert
        Assert.False(allowed);
    }

    [Fact]
    public void WithoutAllowedDirectoriesTheConfiguredCheckpointsFoldersAndTheWatchedFolderAreAllowed()
    {
        // Arrange
        var watched = directory.File("watched");
        var folders = Folders(allowed: [], checkpoint: Path.Combine(Allowed, "fashion.ckpt"), watched: watched);

        // Act
        bool Allows(string path) => folders.TryResolve(path, out _);

        // Assert
        Assert.True(Allows(Path.Combine(Allowed, "fashion-v2.ckpt")));
        Assert.True(Allows(Path.Combine(watched, "fashion.ckpt")));
        Assert.False(Allows(Path.Combine(Outside, "secret.ckpt")));
    }

    [Fact]
    public async Task TheAdminRpcRefusesAPathOutsideInTheSameWordsWhetherOrNotSomethingIsThere()
    {
        // Arrange
        var serving = TeacherCheckpoints.Create(Path.Combine(Allowed, "fashion.ckpt"), seed: 91);
        var another = TeacherCheckpoints.Create(Path.Combine(Outside, "fashion-v2.ckpt"), seed: 92);
        await using var server = await TeacherServer.StartAsync(new Dictionary<string, string>(ApiKeys.Settings)
        {
            ["Teacher:Checkpoint"] = serving,
            ["Teacher:Device"] = "cpu",
            ["Registry:AllowedDirectories:0"] = Allowed,
        });
        var before = await VersionAsync(server);

        // Act
        var refusals = new List<RpcException>();
        foreach (var path in new[] { another, Path.Combine(Outside, "no-such.ckpt"), Path.Combine(Allowed, "..", "outside", "fashion-v2.ckpt"), "/etc/passwd" })
            refusals.Add(await Assert.ThrowsAsync<RpcException>(async () => await server.Admin.LoadCheckpointAsync(
                new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = path }, ApiKeys.Header(ApiKeys.Admin))));

        // Assert
        Assert.All(refusals, e => Assert.Equal(StatusCode.PermissionDenied, e.StatusCode));
        Assert.Single(refusals.Select(e => e.Status.Detail).Distinct());
        Assert.DoesNotContain(directory.Path, refusals[0].Status.Detail);
        Assert.Equal(before, await VersionAsync(server));
    }

    [Fact]
    public async Task TheAdminRpcLoadsFromAnAllowedFolderGivenByItsRealPathOrThroughALinkInside()
    {
        // Arrange
        var serving = TeacherCheckpoints.Create(Path.Combine(Allowed, "fashion.ckpt"), seed: 93);
        Directory.CreateDirectory(Path.Combine(Allowed, "v2"));
        var next = TeacherCheckpoints.Create(Path.Combine(Allowed, "v2", "fashion.ckpt"), seed: 94);
        Directory.CreateSymbolicLink(Path.Combine(Allowed, "latest"), "v2");
        await using var server = await TeacherServer.StartAsync(new Dictionary<string, string>(ApiKeys.Settings)
        {
            ["Teacher:Checkpoint"] = serving,
            ["Teacher:Device"] = "cpu",
            ["Registry:AllowedDirectories:0"] = Allowed,
        });
        var before = await VersionAsync(server);

        // Act
        var loaded = await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = Path.Combine(Allowed, "latest", "fashion.ckpt") }, ApiKeys.Header(ApiKeys.Admin));

        // Assert
        Assert.Equal(before, loaded.PreviousVersion);
        Assert.NotEqual(before, loaded.Version);
        Assert.Equal(loaded.Version, await VersionAsync(server));
    }

    private static async Task<string> VersionAsync(TeacherServer server) =>
        (await server.Client.DescribeAsync(new DescribeRequest(), ApiKeys.Header(ApiKeys.Caller))).Teachers.Single().Version;

    private static AllowedCheckpointFolders Folders(string[] allowed, string? checkpoint = null, string? watched = null) => new(
        Microsoft.Extensions.Options.Options.Create(new RegistryOptions { AllowedDirectories = [.. allowed], WatchDirectory = watched ?? "" }),
        Microsoft.Extensions.Options.Options.Create(new TeachersOptions { Teacher = new TeacherOptions { Name = "fashion", Checkpoint = checkpoint ?? "" } }));

    public void Dispose() => directory.Dispose();
}
