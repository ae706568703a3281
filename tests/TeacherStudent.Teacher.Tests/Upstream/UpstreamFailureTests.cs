using System.Diagnostics;
using Grpc.Core;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Upstream;

/// <summary>
/// How an upstream's failures are ridden out (retries, Retry-After, the circuit breaker,
/// timeouts) and how those that remain reach the caller: a gRPC status and a message naming the
/// upstream, what happened and what it said, never the key. A test that times a wait sets what
/// it tells apart several seconds apart (e.g. 1 s against 30 s), and its bound between them, so
/// that a loaded machine's slow second or two cannot cross it.
/// </summary>
public sealed class UpstreamFailureTests : IAsyncLifetime
{
    private FakeUpstream upstream = null!;

    public async Task InitializeAsync() => upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await upstream.DisposeAsync();

    [Fact]
    public async Task TooManyRequestsIsRetriedAfterTheRetryAfterTheUpstreamAsked()
    {
        // Arrange: the backoff alone would wait about 10 ms, the longest allowed delay 30 s.
        using var under = new UpstreamUnderTest(upstream.BaseUrl, o => o.MaxRetryDelaySeconds = 30);
        upstream.Then(Reply.Error(429, "Rate limit reached", retryAfterSeconds: 1), Reply.Completion("fine"));
        var clock = Stopwatch.StartNew();

        // Act
        var sample = await under.Teacher.GenerateAsync("Hello", 0, UpstreamUnderTest.Settings(), CancellationToken.None);

        // Assert
        Assert.Equal("fine", sample.Text);
        Assert.Equal(2, upstream.Requests);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task ARetryAfterLongerThanMaxRetryDelayIsCutToIt()
    {
        // Arrange
        using var under = new UpstreamUnderTest(upstream.BaseUrl, o => o.MaxRetryDelaySeconds = 0.2);
        upstream.Then(Reply.Error(429, "Rate limit reached", retryAfterSeconds: 120), Reply.Completion("fine"));
        var clock = Stopwatch.StartNew();

        // Act
        var sample = await under.Teacher.GenerateAsync("Hello", 0, UpstreamUnderTest.Settings(), CancellationToken.None);

        // Assert
        Assert.Equal("fine", sample.Text);
        Assert.Equal(2, upstream.Requests);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}"); // not the 120 s asked
    }

    [Fact]
    public async Task ServerErrorsOnEveryAttemptAreUnavailableWithTheUpstreamsOwnMessage()
    {
        // Arrange
        using var under = new UpstreamUnderTest(upstream.BaseUrl, o => o.MaxRetries = 2);
        upstream.Otherwise = Reply.Error(503, "The engine is currently overloaded");

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(
            () => under.Teacher.GenerateAsync("Hello", 0, UpstreamUnderTest.Settings(), CancellationToken.None));

        // Assert
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains($"'{UpstreamUnderTest.Name}'", error.Status.Detail);
        Assert.Contains("HTTP 503", error.Status.Detail);
        Assert.Contains("3 attempts", error.Status.Detail);
        Assert.Contains("The engine is currently overloaded", error.Status.Detail);
        Assert.Equal(3, upstream.Requests);
    }

    [Fact]
    public async Task ServerErrorsOpenTheBreakerAndLaterCallsFailAtOnceWithoutReachingTheUpstream()
    {
        // Arrange: three failed attempts in a row open the breaker, for 30 s.
        using var under = new UpstreamUnderTest(upstream.BaseUrl, o =>
        {
            o.MaxRetries = 5;
            o.BreakerMinimumThroughput = 3;
            o.BreakerFailureRatio = 1;
            o.BreakSeconds = 30;
        });
        upstream.Otherwise = Reply.Error(500, "Internal model error");

        // Act
        var first = await Assert.ThrowsAsync<RpcException>(
            () => under.Teacher.GenerateAsync("Hello", 0, UpstreamUnderTest.Settings(), CancellationToken.None));
        var clock = Stopwatch.StartNew();
        var later = await Assert.ThrowsAsync<RpcException>(
            () => under.Teacher.GenerateAsync("Hello", 1, UpstreamUnderTest.Settings(), CancellationToken.None));
        var laterTook = clock.Elapsed;

        // Assert
        Assert.Equal(StatusCode.Unavailable, first.StatusCode);
        Assert.Contains($"upstream teacher '{UpstreamUnderTest.Name}'", first.Status.Detail);
        Assert.Contains("is failing; calls are paused for 30 s", first.Status.Detail);
        Assert.Contains("HTTP 500", first.Status.Detail);
        Assert.Contains("Internal model error", first.Status.Detail);
        Assert.Equal(StatusCode.Unavailable, later.StatusCode);
        Assert.Contains("is failing; calls are paused for", later.Status.Detail);
        // The retries stopped at the open breaker, and the later call never left the service.
        Assert.Equal(3, upstream.Requests);
        Assert.True(laterTook < TimeSpan.FromSeconds(10), $"the later call took {laterTook}"); // not the 30 s break
    }

    [Fact]
    public async Task AnUpstreamThatDoesNotAnswerWithinTheAttemptTimeoutIsDeadlineExceeded()
    {
        // Arrange: two attempts of 0.2 s, and a total timeout far beyond them that must not be waited for.
        using var under = new UpstreamUnderTest(upstream.BaseUrl, o =>
        {
            o.TimeoutSeconds = 0.2;
            o.TotalTimeoutSeconds = 30;
            o.MaxRetries = 1;
        });
        upstream.Otherwise = Reply.Hang();
        var clock = Stopwatch.StartNew();

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(
            () => under.Teacher.GenerateAsync("Hello", 0, UpstreamUnderTest.Settings(), CancellationToken.None));

        // Assert
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains($"'{UpstreamUnderTest.Name}'", error.Status.Detail);
        Assert.Contains("did not answer within 0.2 s", error.Status.Detail);
        Assert.Equal(2, upstream.Requests);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task TheTotalTimeoutEndsRetriesThatWouldGoOnLonger()
    {
        // Arrange: eleven attempts of 1 s would take over 11 s; the sample may take 2.5 s, which ends
        // it half-way through its third attempt (not where an attempt's own timeout also falls).
        using var under = new UpstreamUnderTest(upstream.BaseUrl, o =>
        {
            o.TimeoutSeconds = 1;
            o.TotalTimeoutSeconds = 2.5;
            o.MaxRetries = 10;
        });
        upstream.Otherwise = Reply.Hang();
        var clock = Stopwatch.StartNew();

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(
            () => under.Teacher.GenerateAsync("Hello", 0, UpstreamUnderTest.Settings(), CancellationToken.None));

        // Assert
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("did not answer within 2.5 s in all", error.Status.Detail);
        Assert.InRange(upstream.Requests, 1, 3);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(7), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task ARejectedKeyIsFailedPreconditionNotRetriedAndTheKeyIsMaskedInTheMessage()
    {
        // Arrange: this upstream quotes the key it refused.
        using var under = new UpstreamUnderTest(upstream.BaseUrl);
        upstream.Otherwise = Reply.Error(401, $"Incorrect API key provided: {UpstreamUnderTest.Key}.");

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(
            () => under.Teacher.GenerateAsync("Hello", 0, UpstreamUnderTest.Settings(), CancellationToken.None));

        // Assert
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains($"'{UpstreamUnderTest.Name}'", error.Status.Detail);
        Assert.Contains("HTTP 401", error.Status.Detail);
        Assert.Contains("Incorrect API key provided", error.Status.Detail);
        Assert.DoesNotContain(UpstreamUnderTest.Key, error.Status.Detail);
        Assert.Equal(1, upstream.Requests);
    }

    [Fact]
    public async Task ABadRequestIsInvalidArgumentWithTheUpstreamsMessage()
    {
        // Arrange
        using var under = new UpstreamUnderTest(upstream.BaseUrl);
        upstream.Otherwise = Reply.Error(400, "This model's maximum context length is 4096 tokens.");

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(
            () => under.Teacher.GenerateAsync("Hello", 0, UpstreamUnderTest.Settings(), CancellationToken.None));

        // Assert
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("HTTP 400", error.Status.Detail);
        Assert.Contains("maximum context length is 4096 tokens", error.Status.Detail);
        Assert.Equal(1, upstream.Requests);
    }

    [Fact]
    public async Task AnUnknownModelIsFailedPreconditionNamingTheModel()
    {
        // Arrange
        using var under = new UpstreamUnderTest(upstream.BaseUrl);
        upstream.Otherwise = Reply.Error(404, "The model `fake-model` does not exist");

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(
            () => under.Teacher.GenerateAsync("Hello", 0, UpstreamUnderTest.Settings(), CancellationToken.None));

        // Assert
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("HTTP 404", error.Status.Detail);
        Assert.Contains("does not exist", error.Status.Detail);
    }

    [Fact]
    public async Task AnAnswerThatIsNoCompletionIsUnavailableSayingWhy()
    {
        // Arrange
        using var under = new UpstreamUnderTest(upstream.BaseUrl);
        upstream.Otherwise = Reply.Raw("""{"choices": []}""");

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(
            () => under.Teacher.GenerateAsync("Hello", 0, UpstreamUnderTest.Settings(), CancellationToken.None));

        // Assert
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains("not an OpenAI-compatible completion", error.Status.Detail);
        Assert.Contains("no choices", error.Status.Detail);
    }

    [Fact]
    public async Task AnUpstreamNobodyListensAtIsUnavailableAfterItsRetries()
    {
        // Arrange
        var nowhere = $"http://127.0.0.1:{FreePort.Next()}/v1";
        using var under = new UpstreamUnderTest(nowhere, o => o.MaxRetries = 1);

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(
            () => under.Teacher.GenerateAsync("Hello", 0, UpstreamUnderTest.Settings(), CancellationToken.None));

        // Assert
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains($"at {nowhere}/chat/completions) could not be reached on the last of 2 attempts", error.Status.Detail);
        Assert.Contains("refused", error.Status.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task TheCallersCancellationEndsTheHttpCallAndIsNoFailureOfTheUpstream()
    {
        // Arrange: were cancellations failures, the second would open this breaker.
        using var under = new UpstreamUnderTest(upstream.BaseUrl, o =>
        {
            o.MaxRetries = 0;
            o.BreakerMinimumThroughput = 2;
            o.BreakerFailureRatio = 0.5;
        });
        upstream.Then(Reply.Hang(), Reply.Hang(), Reply.Hang());

        // Act
        for (var i = 0; i < 3; i++)
        {
            using var caller = new CancellationTokenSource();
            var sample = under.Teacher.GenerateAsync("Hello", i, UpstreamUnderTest.Settings(), caller.Token);
            await upstream.WaitUntilAsync(u => u.Requests == i + 1);
            await caller.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sample);
        }
        await upstream.WaitUntilAsync(u => u.Aborted == 3);
        var after = await under.Teacher.GenerateAsync("Hello", 3, UpstreamUnderTest.Settings(), CancellationToken.None);

        // Assert
        Assert.Equal(3, upstream.Aborted);
        Assert.Equal(4, upstream.Requests);
        Assert.Equal("Hello / seed ", after.Text[..13]);
    }
}
