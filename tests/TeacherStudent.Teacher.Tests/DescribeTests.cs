using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Teacher.Tests.Fixtures;

namespace TeacherStudent.Teacher.Tests;

[Collection(TeacherCollection.Name)]
public sealed class DescribeTests(TeacherFixture fixture)
{
    [Fact]
    public async Task DescribeByNameReturnsNameVersionInputSpecAndLimits()
    {
        // Arrange
        var request = new DescribeRequest { Teacher = "fashion" };

        // Act
        var response = await fixture.Server.Client.DescribeAsync(request);

        // Assert
        var info = Assert.Single(response.Teachers);
        Assert.Equal("fashion", info.Name);
        Assert.Equal(fixture.Version, info.Version);
        Assert.Equal(TeacherTask.Classifier, info.Task);
        Assert.Equal([1L, 28L, 28L], info.Input.ExampleShape);
        Assert.Equal([DType.Float32, DType.Uint8], info.Input.Dtypes);
        Assert.Equal(FashionMnist.ClassNames, info.Input.ClassNames);
        Assert.Equal(TeacherFixture.MaxBatch, info.Limits.MaxBatch);
        Assert.Equal((0.01f, 100f), (info.Limits.MinTemperature, info.Limits.MaxTemperature));
        Assert.Equal((0f, 1f), (info.Input.FloatMin, info.Input.FloatMax));
        Assert.Equal(10, info.NumOutputs);
        Assert.Equal("cpu", info.Device);
        Assert.Equal("convnet", info.Architecture);
    }

    [Fact]
    public async Task DescribeWithoutANameListsEveryTeacher()
    {
        // Act
        var response = await fixture.Server.Client.DescribeAsync(new DescribeRequest());

        // Assert
        Assert.Equal(["fashion"], response.Teachers.Select(t => t.Name));
    }

    [Fact]
    public async Task DescribeOfAnUnknownTeacherIsNotFoundAndNamesTheKnownOnes()
    {
        // Act
        var error = await Assert.ThrowsAsync<RpcException>(
            async () => await fixture.Server.Client.DescribeAsync(new DescribeRequest { Teacher = "nobody" }));

        // Assert
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains("nobody", error.Status.Detail);
        Assert.Contains("fashion", error.Status.Detail);
    }

    [Fact]
    public async Task DescribeOfATenThousandCharacterNameEchoesAShortPrefixWithItsLength()
    {
        // Act
        var error = await Assert.ThrowsAsync<RpcException>(
            async () => await fixture.Server.Client.DescribeAsync(new DescribeRequest { Teacher = new string('y', 10_000) }));

        // Assert
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains($"'{new string('y', 64)}…(10000 chars)'", error.Status.Detail);
        Assert.InRange(error.Status.Detail.Length, 1, 300);
    }
}
