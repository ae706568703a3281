using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Upstream;

/// <summary>The teacher service with upstream teachers in its configuration, started as it runs.</summary>
public sealed class UpstreamServiceTests
{
    [Fact]
    public async Task AServiceWithOnlyAnUpstreamTeacherStartsAndReportsItServing()
    {
        // Arrange
        await using var server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Upstreams:0:Name"] = "gpt",
            ["Upstreams:0:BaseUrl"] = "http://127.0.0.1:9/v1",
            ["Upstreams:0:Model"] = "fake-model",
        });
        using var channel = GrpcChannel.ForAddress(server.Address);
        var health = new Health.HealthClient(channel);

        // Act
        var whole = await health.CheckAsync(new HealthCheckRequest { Service = "" });
        var gpt = await health.CheckAsync(new HealthCheckRequest { Service = "gpt" });

        // Assert
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, whole.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, gpt.Status);
    }

    [Fact]
    public void AnApiKeyFileThatCannotBeReadStopsStartUpNamingIt()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var missing = directory.File("no-such-key");

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build([
            "--Upstreams:0:Name=gpt", "--Upstreams:0:BaseUrl=http://127.0.0.1:9/v1", "--Upstreams:0:Model=fake-model",
            $"--Upstreams:0:ApiKeyFile={missing}",
        ]));

        // Assert
        Assert.Contains("Upstreams:0:ApiKeyFile", error.Message);
        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void AnUpstreamNamedLikeACheckpointTeacherStopsStartUp()
    {
        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build([
            "--Teacher:Name=fashion", "--Teacher:Checkpoint=/nowhere/fashion.ckpt",
            "--Upstreams:0:Name=fashion", "--Upstreams:0:BaseUrl=http://127.0.0.1:9/v1", "--Upstreams:0:Model=fake-model",
        ]));

        // Assert
        Assert.Contains("'fashion' is configured more than once", error.Message);
    }

    [Fact]
    public async Task LoadingACheckpointUnderAnUpstreamTeachersNameIsRefused()
    {
        // Arrange
        await using var server = await TeacherServer.StartAsync(new Dictionary<string, string>(ApiKeys.Settings)
        {
            ["Upstreams:0:Name"] = "gpt",
            ["Upstreams:0:BaseUrl"] = "http://127.0.0.1:9/v1",
            ["Upstreams:0:Model"] = "fake-model",
        });

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "gpt", CheckpointPath = "/nowhere/gpt.ckpt" }, ApiKeys.Header(ApiKeys.Admin)));

        // Assert
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("upstream teacher", error.Status.Detail);
    }
}
