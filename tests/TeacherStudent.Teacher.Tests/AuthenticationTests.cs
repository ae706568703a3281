using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests;

/// <summary>API keys on the Teacher service (Auth:ApiKeys), against one secured service shared by these tests.</summary>
public sealed class AuthenticationTests : IAsyncLifetime
{
    private readonly TemporaryDirectory directory = new("authentication-tests");
    private TeacherServer server = null!;

    public async Task InitializeAsync()
    {
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 21);
        server = await TeacherServer.StartAsync(new Dictionary<string, string>(ApiKeys.Settings)
        {
            ["Teacher:Checkpoint"] = checkpoint,
            ["Teacher:Device"] = "cpu",
        });
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        directory.Dispose();
    }

    [Fact]
    public async Task DescribeWithoutAKeyIsUnauthenticatedWithASentenceNamingTheHeader()
    {
        // Act
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Client.DescribeAsync(new DescribeRequest()));

        // Assert
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains("x-api-key", error.Status.Detail);
    }

    [Fact]
    public async Task DescribeWithAWrongKeyIsUnauthenticated()
    {
        // Act
        var error = await Assert.ThrowsAsync<RpcException>(
            async () => await server.Client.DescribeAsync(new DescribeRequest(), ApiKeys.Header("not-a-key-anyone-gave")));

        // Assert
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains("not one", error.Status.Detail);
    }

    [Theory]
    [InlineData(ApiKeys.Caller)]
    [InlineData(ApiKeys.OtherCaller)]
    [InlineData(ApiKeys.Admin)]
    public async Task DescribeWithAConfiguredKeyAnswers(string key)
    {
        // Act
        var response = await server.Client.DescribeAsync(new DescribeRequest(), ApiKeys.Header(key));

        // Assert
        Assert.Equal(["fashion"], response.Teachers.Select(t => t.Name));
    }

    [Fact]
    public async Task AWrongKeySentAsABearerTokenIsToldToCheckTheAuthorizationHeaderNotXApiKey()
    {
        // Act
        var error = await Assert.ThrowsAsync<RpcException>(
            async () => await server.Client.DescribeAsync(new DescribeRequest(), ApiKeys.Bearer("not-a-key-anyone-gave")));

        // Assert
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains("'authorization: Bearer'", error.Status.Detail);
        Assert.DoesNotContain("x-api-key", error.Status.Detail);
    }

    [Fact]
    public async Task AWrongKeySentInXApiKeyIsToldToCheckXApiKey()
    {
        // Act
        var error = await Assert.ThrowsAsync<RpcException>(
            async () => await server.Client.DescribeAsync(new DescribeRequest(), ApiKeys.Header("not-a-key-anyone-gave")));

        // Assert
        Assert.Contains("'x-api-key'", error.Status.Detail);
        Assert.DoesNotContain("authorization", error.Status.Detail);
    }

    [Fact]
    public async Task AKeyAsABearerTokenIsAcceptedToo()
    {
        // Act
        var response = await server.Client.DescribeAsync(new DescribeRequest(), ApiKeys.Bearer(ApiKeys.Caller));

        // Assert
        Assert.Single(response.Teachers);
    }

    [Fact]
    public async Task SoftTargetsWithoutAKeyIsUnauthenticated()
    {
        // Act
        var error = await Assert.ThrowsAsync<RpcException>(() => AskOnceAsync(headers: null));

        // Assert
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains("x-api-key", error.Status.Detail);
    }

    [Fact]
    public async Task SoftTargetsWithAWrongKeyIsUnauthenticated()
    {
        // Act: one character off a real key.
        var error = await Assert.ThrowsAsync<RpcException>(() => AskOnceAsync(ApiKeys.Header("caller-key-0123456788")));

        // Assert
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Fact]
    public async Task SoftTargetsWithACallerKeyAnswers()
    {
        // Arrange
        await using var stream = server.OpenStream(ApiKeys.Header(ApiKeys.Caller));

        // Act
        var response = await stream.AskAsync(TestImages.Request(0, 2));

        // Assert
        TestImages.AssertSucceeded(response);
    }

    // A refused call ends the stream, so it is asked on a bare call rather than a SoftTargetStream.
    private async Task AskOnceAsync(Metadata? headers)
    {
        using var call = server.Client.SoftTargets(headers);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await call.RequestStream.WriteAsync(TestImages.Request(0, 2), timeout.Token);
        }
        catch (RpcException)
        {
            // The service may refuse the call before the request is written, and the write then
            // fails as Cancelled; the call's own status comes with the response, read below.
        }
        await call.ResponseStream.MoveNext(timeout.Token);
    }
}

/// <summary>A service with no Auth settings is open, as before keys existed.</summary>
[Collection(TeacherCollection.Name)]
public sealed class NoAuthenticationTests(TeacherFixture fixture)
{
    [Fact]
    public async Task WithNoKeysConfiguredDescribeAndSoftTargetsAnswerWithoutAKey()
    {
        // Arrange
        await using var stream = fixture.Server.OpenStream();

        // Act
        var described = await fixture.Server.Client.DescribeAsync(new DescribeRequest());
        var response = await stream.AskAsync(TestImages.Request(0, 2));

        // Assert
        Assert.Single(described.Teachers);
        TestImages.AssertSucceeded(response);
    }

    [Fact]
    public async Task WithNoAdminKeyConfiguredTheAdminServiceIsOff()
    {
        // Act
        var error = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = fixture.CheckpointPath }));

        // Assert
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("Auth:AdminKey", error.Status.Detail);
    }
}
