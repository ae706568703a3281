using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests;

public sealed class StartupTests
{
    [Fact]
    public void AMissingCheckpointFileStopsStartUpWithAMessageNamingIt()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var missing = directory.File("nowhere.ckpt");

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build([$"--Teacher:Checkpoint={missing}"]));

        // Assert
        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void AFileThatIsNoCheckpointStopsStartUpWithAMessageSayingSo()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var garbage = directory.File("garbage.ckpt");
        File.WriteAllText(garbage, "not a checkpoint at all");

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build([$"--Teacher:Checkpoint={garbage}"]));

        // Assert
        Assert.Contains("checkpoint", error.Message);
        Assert.Contains(garbage, error.Message);
    }

    [Fact]
    public void NoCheckpointOptionStopsStartUpNamingTheOption()
    {
        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build([]));

        // Assert
        Assert.Contains("Teacher:Checkpoint", error.Message);
    }

    [Fact]
    public void AMaxBatchBelowOneStopsStartUp()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        var error = Assert.Throws<TeacherStartupException>(
            () => TeacherApp.Build([$"--Teacher:Checkpoint={checkpoint}", "--Teacher:MaxBatch=0"]));

        // Assert
        Assert.Contains("MaxBatch", error.Message);
    }

    [Fact]
    public void AnUnparseableRedisConnectionStringStopsStartUpWithoutEchoingIt()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        var error = Assert.Throws<TeacherStartupException>(
            () => TeacherApp.Build([$"--Teacher:Checkpoint={checkpoint}", "--Cache:Redis=127.0.0.1:1,password=secret,nonsense=1"]));

        // Assert
        Assert.Contains("Cache:Redis", error.Message);
        Assert.DoesNotContain("secret", error.Message);
    }

    [Fact]
    public async Task AListOfTeachersAloneIsEnoughToStart()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        await using var server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teachers:0:Name"] = "only",
            ["Teachers:0:Checkpoint"] = checkpoint,
            ["Teachers:0:Device"] = "cpu",
        });
        var response = await server.Client.DescribeAsync(new Contracts.V1.DescribeRequest());

        // Assert
        Assert.Equal(["only"], response.Teachers.Select(t => t.Name));
    }

    [Fact]
    public void TwoTeachersWithOneNameStopStartUpNamingBoth()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(
            [$"--Teacher:Checkpoint={checkpoint}", "--Teachers:0:Name=fashion", $"--Teachers:0:Checkpoint={checkpoint}"]));

        // Assert
        Assert.Contains("'fashion'", error.Message);
        Assert.Contains("Teachers:0", error.Message);
        Assert.Contains("more than once", error.Message);
    }

    [Fact]
    public void AListedTeacherWithoutACheckpointStopsStartUpNamingItsPlaceInTheList()
    {
        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(["--Teachers:0:Name=lonely"]));

        // Assert
        Assert.Contains("Teachers:0:Checkpoint", error.Message);
    }

    [Fact]
    public void AnEmptyApiKeyStopsStartUpNamingIt()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        var error = Assert.Throws<TeacherStartupException>(
            () => TeacherApp.Build([$"--Teacher:Checkpoint={checkpoint}", "--Auth:ApiKeys:0= "]));

        // Assert
        Assert.Contains("Auth:ApiKeys:0", error.Message);
    }
}
