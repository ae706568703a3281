using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests;

/// <summary>Several named teachers from configuration: the "Teachers" list beside the "Teacher" shorthand.</summary>
public sealed class MultipleTeachersTests : IAsyncLifetime
{
    private readonly TemporaryDirectory directory = new("multiple-teachers-tests");
    private CheckpointFolder.Versions versions = null!;
    private TeacherServer server = null!;

    public async Task InitializeAsync()
    {
        versions = new CheckpointFolder.Versions(directory.Path, 41, 42, 43);
        server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teachers:0:Name"] = "large",
            ["Teachers:0:Checkpoint"] = versions.Paths[0],
            ["Teachers:0:Device"] = "cpu",
            ["Teachers:0:MaxBatch"] = "32",
            ["Teachers:1:Name"] = "small",
            ["Teachers:1:Checkpoint"] = versions.Paths[1],
            ["Teachers:1:Device"] = "cpu",
            ["Teacher:Name"] = "fashion",
            ["Teacher:Checkpoint"] = versions.Paths[2],
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
    public async Task DescribeListsEveryConfiguredTeacherWithItsVersionInNameOrder()
    {
        // Act
        var response = await server.Client.DescribeAsync(new DescribeRequest());

        // Assert
        Assert.Equal(
            [("fashion", versions.Digests[2], 1024), ("large", versions.Digests[0], 32), ("small", versions.Digests[1], 1024)],
            response.Teachers.Select(t => (t.Name, t.Version, t.Limits.MaxBatch)));
        Assert.All(response.Teachers, t => Assert.Equal("", t.LastLoadError));
    }

    [Fact]
    public async Task EachTeacherAnswersWithItsOwnVersionAndTargetsOnOneStream()
    {
        // Arrange
        await using var stream = server.OpenStream();
        (string Name, int Index)[] teachers = [("large", 0), ("small", 1), ("fashion", 2)];

        foreach (var (name, index) in teachers)
        {
            // Act
            var response = await stream.AskAsync(TestImages.Request(1200, 8, temperature: 2f, teacher: name));

            // Assert
            Assert.Equal(name, response.Teacher);
            Assert.Equal(versions.Digests[index], response.TeacherVersion);
            var expected = versions.Reference(versions.Digests[index]).LogProbs(TestImages.Pixels(1200, 8), 8, 2f);
            TestImages.AssertClose(expected, TestImages.LogProbs(response), 1e-5);
        }
    }

    [Fact]
    public async Task EachTeacherKeepsItsOwnBatchLimit()
    {
        // Arrange
        await using var stream = server.OpenStream();

        // Act
        var large = await stream.AskAsync(TestImages.Request(0, 33, teacher: "large"));
        var small = await stream.AskAsync(TestImages.Request(0, 33, teacher: "small"));

        // Assert
        Assert.Equal(8, large.Error.Code); // RESOURCE_EXHAUSTED
        TestImages.AssertSucceeded(small);
    }
}
