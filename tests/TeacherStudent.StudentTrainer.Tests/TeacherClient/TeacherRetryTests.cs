using System.Net.Sockets;
using Grpc.Core;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.Tests.TeacherClient;

public sealed class TeacherRetryTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(5);

    private static TeacherRetry Retry(List<string> log, double budgetSeconds = 10) =>
        new(TimeSpan.FromSeconds(budgetSeconds), log.Add, firstDelay: Short, maxDelay: Short);

    /// <summary>An operation that fails with each of <paramref name="failures"/> in turn, then answers 42.</summary>
    private static Func<CancellationToken, Task<int>> FailingWith(params Exception[] failures)
    {
        int calls = 0;
        return _ => calls < failures.Length ? Task.FromException<int>(failures[calls++]) : Task.FromResult(42);
    }

    public static TheoryData<Exception> TeacherGone() =>
    [
        new RpcException(new Status(StatusCode.Unavailable, "Error connecting to subchannel.", new SocketException((int)SocketError.ConnectionRefused))),
        new RpcException(new Status(StatusCode.Internal, "Error reading next message.", new IOException("The response ended prematurely."))),
        new RpcException(new Status(StatusCode.Cancelled, "Error reading next message.", new HttpRequestException("connection reset"))),
        new HttpRequestException("Connection refused", new SocketException((int)SocketError.ConnectionRefused)),
        new IOException("broken pipe"),
        new InvalidOperationException("Can't write the message because the call is complete."),
    ];

    public static TheoryData<Exception> RequestProblems() =>
    [
        new TeacherBatchException(StatusCode.InvalidArgument, "temperature must be positive."),
        new TeacherBatchException(StatusCode.ResourceExhausted, "at most 1024 examples per batch."),
        new RpcException(new Status(StatusCode.InvalidArgument, "bad request")),
        new RpcException(new Status(StatusCode.NotFound, "no teacher named 'x'")),
        new RpcException(new Status(StatusCode.Unauthenticated, "no API key")),
        new TimeoutException("no reply within 120 s"),
        new TeacherUnavailableException("the teacher service does not describe a teacher named 'x'."),
        new InvalidOperationException("the teacher answered request '3' where '2' was due."),
    ];

    [Theory]
    [MemberData(nameof(TeacherGone))]
    public void FailuresThatMeanTheTeacherIsNotThereRightNowAreTransient(Exception e) => Assert.True(TeacherRetry.IsTransient(e));

    [Theory]
    [MemberData(nameof(RequestProblems))]
    public void FailuresAboutTheRequestItselfAreNotTransient(Exception e) => Assert.False(TeacherRetry.IsTransient(e));

    [Fact]
    public async Task ACallThatFailsWhileTheTeacherIsAwayIsRetriedUntilItAnswersWithOneLogLinePerRetry()
    {
        var log = new List<string>();
        var unavailable = new RpcException(new Status(StatusCode.Unavailable, "connection refused"));

        var answer = await Retry(log).ExecuteAsync(FailingWith(unavailable, unavailable, new IOException("reset")), CancellationToken.None);

        Assert.Equal(42, answer);
        Assert.Equal(3, log.Count);
        Assert.StartsWith("teacher unavailable (Unavailable), retrying in ", log[0]);
        Assert.EndsWith("(attempt 2)", log[0]);
        Assert.EndsWith("(attempt 4)", log[2]);
        Assert.Contains("(IOException)", log[2]);
    }

    [Fact]
    public async Task ATeacherThatSaysItIsStoppingIsAskedAgainAtOnceAndTheLogSaysWhy()
    {
        // Arrange: a first delay far longer than the test, which only the stopping status skips.
        var log = new List<string>();
        var stopping = new RpcException(new Status(StatusCode.Unavailable,
            "the teacher service is stopping: every request this stream sent before the drain began was answered above; send the rest again."));
        var retry = new TeacherRetry(TimeSpan.FromMinutes(5), log.Add, firstDelay: TimeSpan.FromMinutes(2));

        // Act
        var answer = await retry.ExecuteAsync(FailingWith(stopping), CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));

        // Assert
        Assert.Equal(42, answer);
        Assert.Equal("teacher unavailable (Stopping), retrying in 0.0s (attempt 2)", Assert.Single(log));
        Assert.True(TeacherRetry.IsStopping(stopping));
        Assert.False(TeacherRetry.IsStopping(new RpcException(new Status(StatusCode.Unavailable, "teacher 'fashion' is loading"))));
    }

    [Fact]
    public async Task APerBatchErrorIsNotRetried()
    {
        var log = new List<string>();
        var invalid = new TeacherBatchException(StatusCode.InvalidArgument, "temperature must be positive.");

        var thrown = await Assert.ThrowsAsync<TeacherBatchException>(() => Retry(log).ExecuteAsync(FailingWith(invalid), CancellationToken.None));

        Assert.Same(invalid, thrown);
        Assert.Empty(log);
    }

    [Fact]
    public async Task RetryingStopsWhenTheBudgetIsSpentAndTheLastFailureIsThrown()
    {
        var log = new List<string>();
        int calls = 0;
        var started = DateTime.UtcNow;

        var thrown = await Assert.ThrowsAsync<RpcException>(() => Retry(log, budgetSeconds: 0.3).ExecuteAsync<int>(
            _ => Task.FromException<int>(new RpcException(new Status(StatusCode.Unavailable, $"refused {++calls}"))), CancellationToken.None));

        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.3), TimeSpan.FromSeconds(5));
        Assert.True(calls > 2, $"only {calls} calls");
        Assert.Equal($"refused {calls}", thrown.Status.Detail);
        Assert.Equal(calls - 1, log.Count);
    }

    [Fact]
    public async Task AFailureIsRetriedOnceEvenWhenTheFirstAttemptOutlastsTheBudget()
    {
        // The budget runs from the first failure: a first attempt slower than the whole budget (a
        // cold connection on a loaded machine) still gets its retry, and the slow retry ends it.
        var log = new List<string>();
        int calls = 0;

        await Assert.ThrowsAsync<RpcException>(() => Retry(log, budgetSeconds: 0.1).ExecuteAsync<int>(async _ =>
        {
            calls++;
            await Task.Delay(TimeSpan.FromSeconds(0.3));
            throw new RpcException(new Status(StatusCode.Unavailable, "refused"));
        }, CancellationToken.None));

        Assert.Equal(2, calls);
        Assert.Single(log);
    }

    [Fact]
    public async Task ABudgetOfZeroMeansNoRetry()
    {
        var log = new List<string>();
        var unavailable = new RpcException(new Status(StatusCode.Unavailable, "connection refused"));

        await Assert.ThrowsAsync<RpcException>(() =>
            new TeacherRetry(TimeSpan.Zero, log.Add).ExecuteAsync(FailingWith(unavailable), CancellationToken.None));

        Assert.Empty(log);
    }

    [Fact]
    public async Task CancellingStopsTheRetries()
    {
        // The caller cancels once the first failure is logged, during the 30 s wait that follows (a
        // timer of 200 ms could fire before a loaded machine made the first attempt at all).
        var log = new List<string>();
        using var cancel = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new TeacherRetry(TimeSpan.FromMinutes(5), line => { log.Add(line); cancel.Cancel(); },
                firstDelay: TimeSpan.FromSeconds(30))
            .ExecuteAsync<int>(_ => Task.FromException<int>(new RpcException(new Status(StatusCode.Unavailable, "refused"))), cancel.Token));

        Assert.Single(log);
    }
}
