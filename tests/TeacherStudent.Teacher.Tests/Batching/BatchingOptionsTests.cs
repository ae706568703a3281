using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Batching;

public sealed class BatchingOptionsTests
{
    [Fact]
    public void AQueueSmallerThanOneForwardStopsStartUpNamingBothSettings()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(
            [$"--Teacher:Checkpoint={checkpoint}", "--Batching:MaxBatch=512", "--Batching:QueueCapacity=100"]));

        // Assert
        Assert.Contains("Batching:QueueCapacity (100)", error.Message);
        Assert.Contains("Batching:MaxBatch (512)", error.Message);
    }

    [Fact]
    public void ANegativeMaxDelayStopsStartUpNamingIt()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(
            [$"--Teacher:Checkpoint={checkpoint}", "--Batching:MaxDelayMs=-1"]));

        // Assert
        Assert.Contains("MaxDelayMs", error.Message);
    }

    [Fact]
    public void ATokenBudgetOfZeroStopsStartUpNamingIt()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(
            [$"--Teacher:Checkpoint={checkpoint}", "--Batching:MaxTokens=0"]));

        // Assert
        Assert.Contains("MaxTokens", error.Message);
    }
}
