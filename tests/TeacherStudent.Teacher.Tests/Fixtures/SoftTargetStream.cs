using Grpc.Core;
using TeacherStudent.Contracts.V1;

namespace TeacherStudent.Teacher.Tests.Fixtures;

/// <summary>One SoftTargets stream: request by request (send one, read its answer), or sending ahead.</summary>
public sealed class SoftTargetStream(AsyncDuplexStreamingCall<SoftTargetsRequest, SoftTargetsResponse> call) : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Sends <paramref name="request"/> and returns the response to it.</summary>
    public async Task<SoftTargetsResponse> AskAsync(SoftTargetsRequest request)
    {
        await SendAsync(request);
        return await ReadAsync();
    }

    /// <summary>Sends <paramref name="request"/> without waiting for any answer.</summary>
    public Task SendAsync(SoftTargetsRequest request) => call.RequestStream.WriteAsync(request);

    /// <summary>Reads the next answer.</summary>
    public async Task<SoftTargetsResponse> ReadAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        if (!await call.ResponseStream.MoveNext(timeout.Token))
            throw new InvalidOperationException("the teacher closed the stream instead of answering.");
        return call.ResponseStream.Current;
    }

    public async ValueTask DisposeAsync()
    {
        await call.RequestStream.CompleteAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        // Drain to the end, so that the call finishes cleanly.
        while (await call.ResponseStream.MoveNext(timeout.Token)) { }
        call.Dispose();
    }
}
