using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Training;
using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.StudentTrainer;

/// <summary>
/// Soft targets from a teacher service over one long-lived <c>SoftTargets</c> stream. Requests
/// may overlap (the trainer asks for the next batch while it trains on this one); the service
/// answers in order, so replies are matched to requests first-in first-out and checked by id.
/// A broken stream fails the requests in flight on it and is reopened by the next request;
/// the <see cref="TeacherRetry"/> decides which calls are tried again (a teacher restarting), and
/// a batch the teacher answered with an error never is.
/// </summary>
public sealed class GrpcSoftTargetSource(
    Teacher.TeacherClient client, TeacherClientOptions options, double temperature, long[] exampleShape, TeacherRetry retry)
    : ISoftTargetSource, IAsyncDisposable
{
    /// <summary>The metadata header that carries the API key.</summary>
    public const string ApiKeyHeader = "x-api-key";

    private readonly SemaphoreSlim writeGate = new(1, 1);
    private readonly Metadata? headers = options.ApiKey.Length == 0 ? null : new Metadata { { ApiKeyHeader, options.ApiKey } };
    private ReplyStream? current;
    private long nextId;

    private DType OutputDType => options.TargetsDtype == "float16" ? DType.Float16 : DType.Float32;

    public Task<TeacherIdentity> DescribeAsync(CancellationToken cancellationToken) =>
        retry.ExecuteAsync(DescribeOnceAsync, cancellationToken);

    public Task<SoftTargetBatch> GetAsync(ReadOnlyMemory<byte> pixels, int count, CancellationToken cancellationToken) =>
        retry.ExecuteAsync(attempt => GetOnceAsync(pixels, count, attempt), cancellationToken);

    private async Task<TeacherIdentity> DescribeOnceAsync(CancellationToken cancellationToken)
    {
        var reply = await client.DescribeAsync(new DescribeRequest { Teacher = options.Teacher }, headers,
            deadline: DateTime.UtcNow.AddSeconds(options.TimeoutSeconds), cancellationToken: cancellationToken);
        var info = reply.Teachers.SingleOrDefault(t => t.Name == options.Teacher)
                   ?? throw new TeacherUnavailableException($"the teacher service does not describe a teacher named '{options.Teacher}'.");
        return new TeacherIdentity(info.Name, info.Version, info.NumOutputs);
    }

    private async Task<SoftTargetBatch> GetOnceAsync(ReadOnlyMemory<byte> pixels, int count, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var request = new SoftTargetsRequest
        {
            RequestId = id,
            Teacher = options.Teacher,
            Temperature = (float)temperature,
            OutputDtype = OutputDType,
            Inputs = new Contracts.V1.Tensor
            {
                Shape = { count },
                Dtype = DType.Uint8,
                // The buffer is not touched again until the reply is in, so it can be sent without a copy.
                Data = UnsafeByteOperations.UnsafeWrap(pixels),
            },
        };
        request.Inputs.Shape.AddRange(exampleShape);

        Task<SoftTargetsResponse> reply;
        await writeGate.WaitAsync(cancellationToken);
        ReplyStream? stream = null;
        try
        {
            stream = current ??= ReplyStream.Open(client, headers, Forget);
            reply = stream.Expect(id);
            await stream.Call.RequestStream.WriteAsync(request, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException && stream is not null)
        {
            // A stream that broke under this write may already be disposed: the failure is the broken stream, not the request.
            bool brokeFirst = stream.HasFailed;
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
        var wire = new WireTensor(response.LogProbs.Shape.ToArray(), (WireDType)response.LogProbs.Dtype, response.LogProbs.Data.Memory);
        if (wire.Shape.Length != 2 || wire.Shape[0] != count)
            throw new TeacherBatchException(StatusCode.Internal, $"the teacher answered {count} examples with a tensor of shape [{string.Join(", ", wire.Shape)}].");
        return new SoftTargetBatch(TensorCodec.ToFloats(wire), count, (int)wire.Shape[1], response.TeacherVersion);
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

/// <summary>The teacher answered one batch with an error.</summary>
public sealed class TeacherBatchException(StatusCode code, string message) : Exception($"{code}: {message}")
{
    public StatusCode Code { get; } = code;
}

/// <summary>The teacher service cannot serve what this student needs.</summary>
public sealed class TeacherUnavailableException(string message) : Exception(message);
