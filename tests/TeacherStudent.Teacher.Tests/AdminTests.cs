using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests;

/// <summary>The TeacherAdmin service: LoadCheckpoint with the admin key, each test with its own secured service.</summary>
public sealed class AdminTests : IAsyncLifetime
{
    private readonly TemporaryDirectory directory = new("admin-tests");
    private CheckpointFolder.Versions versions = null!;
    private TeacherServer server = null!;

    public async Task InitializeAsync()
    {
        versions = new CheckpointFolder.Versions(directory.Path, 31, 32);
        server = await TeacherServer.StartAsync(new Dictionary<string, string>(ApiKeys.Settings)
        {
            ["Teacher:Checkpoint"] = versions.Paths[0],
            ["Teacher:Device"] = "cpu",
        });
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        versions.Dispose();
        directory.Dispose();
    }

    [Fact]
    public async Task LoadCheckpointWithTheAdminKeySwapsAndRepliesCarryTheNewVersion()
    {
        // Arrange
        var (v1, v2) = (versions.Digests[0], versions.Digests[1]);
        var request = new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = versions.Paths[1] };

        // Act
        var loaded = await server.Admin.LoadCheckpointAsync(request, ApiKeys.Header(ApiKeys.Admin));
        await using var stream = server.OpenStream(ApiKeys.Header(ApiKeys.Caller));
        var response = await stream.AskAsync(TestImages.Request(1000, 8, temperature: 3f));

        // Assert
        Assert.Equal(("fashion", v2, v1), (loaded.Teacher, loaded.Version, loaded.PreviousVersion));
        Assert.Equal(v2, response.TeacherVersion);
        TestImages.AssertClose(versions.Reference(v2).LogProbs(TestImages.Pixels(1000, 8), 8, 3f), TestImages.LogProbs(response), 1e-5);
    }

    [Fact]
    public async Task LoadCheckpointWithoutAKeyIsUnauthenticated()
    {
        // Act
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = versions.Paths[1] }));

        // Assert
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal(versions.Digests[0], await VersionAsync("fashion"));
    }

    [Fact]
    public async Task LoadCheckpointWithACallerKeyIsPermissionDenied()
    {
        // Act
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = versions.Paths[1] }, ApiKeys.Header(ApiKeys.Caller)));

        // Assert
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("admin key", error.Status.Detail);
        Assert.Equal(versions.Digests[0], await VersionAsync("fashion"));
    }

    [Fact]
    public async Task LoadCheckpointWithAWrongKeyIsUnauthenticated()
    {
        // Act
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = versions.Paths[1] }, ApiKeys.Bearer("admin-key-guess")));

        // Assert: the message names the header the key came in.
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains("'authorization: Bearer'", error.Status.Detail);
    }

    [Fact]
    public async Task AGarbageCheckpointIsFailedPreconditionAndTheOldVersionGoesOnServing()
    {
        // Arrange
        var garbage = directory.File("garbage.ckpt");
        await File.WriteAllTextAsync(garbage, "not a checkpoint");

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = garbage }, ApiKeys.Header(ApiKeys.Admin)));
        var info = await DescribeAsync("fashion");

        // Assert
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains(garbage, error.Status.Detail);
        Assert.Equal(versions.Digests[0], info.Version);
        Assert.Equal(error.Status.Detail, (await DescribeAsync("fashion", ApiKeys.Admin)).LastLoadError);
        // A caller without the admin key is told what was wrong, not where anything is on the service's disk.
        Assert.StartsWith("checkpoint 'garbage.ckpt' was not loaded as teacher 'fashion': ", info.LastLoadError);
        Assert.DoesNotContain(directory.Path, info.LastLoadError);
    }

    [Fact]
    public async Task AMissingCheckpointIsFailedPreconditionNamingThePath()
    {
        // Arrange
        var missing = directory.File("nowhere.ckpt");

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = missing }, ApiKeys.Header(ApiKeys.Admin)));

        // Assert
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains(missing, error.Status.Detail);
        Assert.Equal(versions.Digests[0], await VersionAsync("fashion"));
    }

    [Fact]
    public async Task ACheckpointWhoseHeaderDoesNotFitItsWeightsIsFailedPrecondition()
    {
        // Arrange: says width 16, holds the weights of width 8.
        var mismatched = directory.File("mismatched.ckpt");
        using (var model = ModelSpec.ForFashionMnist("convnet", 8).Create())
            Checkpoint.WriteAtomically(mismatched, writer => Checkpoint.Write(writer, ModelSpec.ForFashionMnist("convnet", 16), model));

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = mismatched }, ApiKeys.Header(ApiKeys.Admin)));

        // Assert
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal(versions.Digests[0], await VersionAsync("fashion"));
    }

    [Fact]
    public async Task ACheckpointWithOtherOutputsIsRefusedForAKnownTeacher()
    {
        // Arrange: five classes where the teacher has ten.
        var fiveClasses = directory.File("five-classes.ckpt");
        var spec = new ModelSpec("convnet", 8, 1, 28, 28, 5);
        using (var model = spec.Create()) Checkpoint.Save(fiveClasses, spec, model);

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = fiveClasses }, ApiKeys.Header(ApiKeys.Admin)));

        // Assert
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("new name", error.Status.Detail);
        Assert.Equal(versions.Digests[0], await VersionAsync("fashion"));
    }

    [Fact]
    public async Task LoadCheckpointForANewNameAddsATeacher()
    {
        // Act
        var loaded = await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "second", CheckpointPath = versions.Paths[1], Device = "cpu", MaxBatch = 16 },
            ApiKeys.Header(ApiKeys.Admin));
        var all = await server.Client.DescribeAsync(new DescribeRequest(), ApiKeys.Header(ApiKeys.Caller));
        await using var stream = server.OpenStream(ApiKeys.Header(ApiKeys.Caller));
        var response = await stream.AskAsync(TestImages.Request(1100, 4, teacher: "second"));

        // Assert
        Assert.Equal(("second", versions.Digests[1], ""), (loaded.Teacher, loaded.Version, loaded.PreviousVersion));
        Assert.Equal([("fashion", versions.Digests[0]), ("second", versions.Digests[1])], all.Teachers.Select(t => (t.Name, t.Version)));
        Assert.Equal(16, all.Teachers.Single(t => t.Name == "second").Limits.MaxBatch);
        Assert.Equal(versions.Digests[1], response.TeacherVersion);
        TestImages.AssertClose(versions.Reference(versions.Digests[1]).LogProbs(TestImages.Pixels(1100, 4), 4, 1f), TestImages.LogProbs(response), 1e-5);
    }

    [Fact]
    public async Task LoadingTheVersionAlreadyServingChangesNothing()
    {
        // Act
        var loaded = await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = versions.Paths[0] }, ApiKeys.Header(ApiKeys.Admin));

        // Assert
        Assert.Equal(versions.Digests[0], loaded.Version);
        Assert.Equal(versions.Digests[0], loaded.PreviousVersion);
    }

    [Theory]
    [InlineData("", "x.ckpt")]
    [InlineData("../escape", "x.ckpt")]
    [InlineData("fashion", "")]
    public async Task AnEmptyOrMalformedFieldIsInvalidArgument(string teacher, string path)
    {
        // Act
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = teacher, CheckpointPath = path }, ApiKeys.Header(ApiKeys.Admin)));

        // Assert
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    private async Task<TeacherInfo> DescribeAsync(string name, string key = ApiKeys.Caller) =>
        (await server.Client.DescribeAsync(new DescribeRequest { Teacher = name }, ApiKeys.Header(key))).Teachers.Single();

    private async Task<string> VersionAsync(string name) => (await DescribeAsync(name)).Version;
}
