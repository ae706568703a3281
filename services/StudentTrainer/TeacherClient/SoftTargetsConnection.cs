using System.Collections.Concurrent;
using Grpc.Core;
using TeacherStudent.Contracts.V1;

namespace TeacherStudent.StudentTrainer.TeacherClient;

/// <summary>
/// One long-lived <c>SoftTargets</c> stream shared by a source's requests. Requests may overlap
/// (the trainer asks for the next batch while it trains on this one); the service answers in
/// order, so replies are matched to requests first-in first-out and checked by id. A broken
/// stream fails the requests in flight on it and is reopened by the next request; the caller's
/// <see cref="TeacherRetry"/> decides which calls are tried again, and a batch the teacher
/// answered with an error (<see cref="TeacherBatchException"/>) never is.
/// </summary>
public sealed class SoftTargetsConnection(Teacher.TeacherClient client, TeacherClientOptions options) : IAsyncDisposable
{
    /// <summary>The metadata header that carries the API key.</summary>
    public const string ApiKeyHeader = "x-api-key";

    private readonly SemaphoreSlim writeGate = new(1, 1);
    private ReplyStream? current;
    private long nextId;

    /// <summary>The API key header, when one is configured.</summary>
    public Metadata? Headers { get; } = options.ApiKey.Length == 0 ? null : new Metadata { { ApiKeyHeader, options.ApiKey } };

    /// <summary>What the service says about the configured teacher, within the batch timeout.</summary>
    /// <exception cref="TeacherUnavailableException">the service holds no teacher of that name.</exception>
    public async Task<TeacherInfo> DescribeAsync(CancellationToken cancellationToken)
    {
        var reply = await client.DescribeAsync(new DescribeRequest { Teacher = options.Teacher }, Headers,
            deadline: DateTime.UtcNow.AddSeconds(options.TimeoutSeconds), cancellationToken: cancellationToken);
        return reply.Teachers.SingleOrDefault(t => t.Name == options.Teacher)
               ?? throw new TeacherUnavailableException($"the teacher service does not describe a teacher named '{options.Teacher}'.");
    }

    /// <summary>Sends <paramref name="request"/> (its id is set here) and returns its successful reply.</summary>
    /// <exception cref="TeacherBatchException">the teacher answered this batch with an error.</exception>
    public async Task<SoftTargetsResponse> AskAsync(SoftTargetsRequest request, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        request.RequestId = id;
        Task<SoftTargetsResponse> reply;
        await writeGate.WaitAsync(cancellationToken);
        ReplyStream? stream = null;
        try
        {
            stream = current ??= ReplyStream.Open(client, Headers, Forget);
            reply = stream.Expect(id);
            await stream.Call.RequestStream.WriteAsync(request, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException && stream is not null)
        {
            // A stream that broke under this write may already be disposed: the failure is the broken stream, not the request.
            // So is a write cancelled while this caller was not: the call ended under it (a replica stopping ends its calls,
            // and the client may see that first as the write's cancellation, before the reader sees the status).
            bool brokeFirst = stream.HasFailed
                || (e is RpcException { StatusCode: StatusCode.Cancelled } && !cancellationToken.IsCancellationRequested);
            stream.Fail(e);
            if (brokeFirst) throw new RpcException(new Status(StatusCode.Unavailable, "the stream to the teacher broke.", e));
            throw;
        }
        finally
        {
            writeGate.Release();
        }

        var response = await reply.WaitAsync(TimeSpan.FromSeconds(options.TimeoutSeconds), cancellationToken);
        if (response.ResultCase == SoftTargetsResponse.ResultOneofCase.Error)
            throw new TeacherBatchException((StatusCode)response.Error.Code, response.Error.Message);
        return response;
    }

    /// <summary>Forgets a broken stream, unless a newer one has already taken its place.</summary>
    private void Forget(ReplyStream broken) => Interlocked.CompareExchange(ref current, null, broken);

    public async ValueTask DisposeAsync()
    {
        var open = Interlocked.Exchange(ref current, null);
        if (open is not null)
        {
            try { await open.Call.RequestStream.CompleteAsync(); }
            catch (Exception) { /* the stream is going away either way */ }
            open.Call.Dispose();
        }
        writeGate.Dispose();
    }

    /// <summary>
    /// One <c>SoftTargets</c> call and the requests waiting for a reply on it. When it breaks, it
    /// fails only its own requests, so a stream opened after it is never touched.
    /// </summary>
    private sealed class ReplyStream
    {
        private readonly ConcurrentQueue<(string Id, TaskCompletionSource<SoftTargetsResponse> Reply)> inFlight = new();
        private readonly Action<ReplyStream> broken;
        private int failed;
        private int disposed;

        private ReplyStream(AsyncDuplexStreamingCall<SoftTargetsRequest, SoftTargetsResponse> call, Action<ReplyStream> broken)
        {
            Call = call;
            this.broken = broken;
        }

        public AsyncDuplexStreamingCall<SoftTargetsRequest, SoftTargetsResponse> Call { get; }

        /// <summary>True once the stream broke (or was found broken).</summary>
        public bool HasFailed => Volatile.Read(ref failed) != 0;

        public static ReplyStream Open(Teacher.TeacherClient client, Metadata? headers, Action<ReplyStream> broken)
        {
            var stream = new ReplyStream(client.SoftTargets(headers), broken);
            _ = stream.ReadRepliesAsync();
            return stream;
        }

        /// <summary>Registers a request about to be written; its reply completes the returned task.</summary>
        public Task<SoftTargetsResponse> Expect(string id)
        {
            var reply = new TaskCompletionSource<SoftTargetsResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
            inFlight.Enqueue((id, reply));
            // The reader may have failed the stream between the caller finding it and this enqueue.
            if (HasFailed) reply.TrySetException(new RpcException(new Status(StatusCode.Unavailable, "the stream to the teacher broke.")));
            return reply.Task;
        }

        /// <summary>Fails everything in flight on this stream and lets the source open a new one.</summary>
        public void Fail(Exception cause)
        {
            Volatile.Write(ref failed, 1);
            broken(this);
            while (inFlight.TryDequeue(out var pending)) pending.Reply.TrySetException(cause);
            if (Interlocked.Exchange(ref disposed, 1) == 0) Call.Dispose();
        }

        private async Task ReadRepliesAsync()
        {
            try
            {
                await foreach (var response in Call.ResponseStream.ReadAllAsync())
                {
                    if (!inFlight.TryDequeue(out var next))
                        throw new InvalidOperationException($"the teacher sent reply '{response.RequestId}' to no request.");
                    if (next.Id != response.RequestId)
                        throw new InvalidOperationException($"the teacher answered request '{response.RequestId}' where '{next.Id}' was due.");
                    next.Reply.TrySetResult(response);
                }
                Fail(new RpcException(new Status(StatusCode.Unavailable, "the teacher closed the stream.")));
            }
            catch (Exception e)
            {
                Fail(e);
            }
        }
    }
}
