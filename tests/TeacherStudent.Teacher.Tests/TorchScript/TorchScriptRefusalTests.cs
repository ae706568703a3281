using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;

namespace TeacherStudent.Teacher.Tests.TorchScript;

/// <summary>
/// TorchScript files and sidecars that cannot serve are refused at load, through the admin rpc,
/// with one sentence naming the file and what is wrong; the version serving goes on serving.
/// </summary>
[Collection(TorchScriptCollection.Name)]
public sealed class TorchScriptRefusalTests(TorchScriptTeachers teachers) : IAsyncLifetime
{
    private TeacherServer server = null!;

    public async Task InitializeAsync()
    {
        server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teacher:Name"] = "fashion",
            ["Teacher:Checkpoint"] = teachers.Version1,
            ["Teacher:Device"] = "cpu",
            ["Auth:AdminKey"] = ApiKeys.Admin,
            ["Registry:AllowedDirectories:0"] = teachers.Folder,
        });
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Theory]
    [InlineData("no-sidecar.pt", "no-sidecar.json", "is missing")]
    [InlineData("not-json.pt", "not-json.json", "is not valid JSON")]
    [InlineData("no-class-names.pt", "no-class-names.json", "needs class_names")]
    [InlineData("two-dimensional-shape.pt", "two-dimensional-shape.json", "gives input.shape [28, 28]; it must be [channels, height, width]")]
    [InlineData("rgb-shape.pt", "rgb-shape.pt", "does not take examples of the sidecar's shape [3, 32, 32]")]
    [InlineData("five-classes.pt", "five-classes.pt", "gives outputs of shape [2, 10] for a batch of 2, but its sidecar names 5 classes")]
    [InlineData("state-dict.pt", "state-dict.pt", "is not a TorchScript file")]
    [InlineData("random-bytes.pt", "random-bytes.pt", "is not a TorchScript file")]
    [InlineData("features.pt", "features.pt", "gives outputs of shape [2, 16, 7, 7] for a batch of 2")]
    [InlineData("tuple.pt", "tuple.pt", "returns a tuple of 2, not one tensor")]
    [InlineData("other-classes.pt", "other-classes.pt", "gives 5 outputs, but teacher 'fashion' takes [1, 28, 28] and gives 10")]
    public async Task AnUnusableFileIsRefusedWithASentenceNamingItAndTheOldVersionGoesOnServing(string file, string named, string reason)
    {
        // Arrange
        var path = teachers.Bad(file);
        var serving = TorchScriptTeachers.ExpectedVersion(teachers.Version1);

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = path }, ApiKeys.Header(ApiKeys.Admin)));
        var info = (await server.Client.DescribeAsync(new DescribeRequest { Teacher = "fashion" }, ApiKeys.Header(ApiKeys.Admin))).Teachers.Single();
        await using var stream = server.OpenStream();
        var response = await stream.AskAsync(TestImages.Request(TorchScriptTeachers.FirstImage, 4));

        // Assert
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        var message = error.Status.Detail;
        Assert.Contains(teachers.Bad(named), message);
        Assert.Contains(reason, message);
        Assert.DoesNotContain('\n', message); // libtorch's C++ stack trace stays out
        Assert.EndsWith("The version serving before goes on serving.", message);
        Assert.Equal((serving, message), (info.Version, info.LastLoadError));
        TestImages.AssertSucceeded(response);
        Assert.Equal(serving, response.TeacherVersion);
    }

    [Fact]
    public void AnUnusableFileAtStartStopsStartUpNamingIt()
    {
        // Arrange
        var path = teachers.Bad("features.pt");

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build([$"--Teacher:Checkpoint={path}", "--Teacher:Device=cpu"]));

        // Assert
        Assert.Contains(path, error.Message);
        Assert.Contains("gives outputs of shape [2, 16, 7, 7]", error.Message);
    }
}
