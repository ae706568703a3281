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
/// A broken stream fails the requests in flight and is reopened by the next request.
/// </summary>
public sealed class GrpcSoftTargetSource(Teacher.TeacherClient client, TeacherClientOptions options, double temperature, long[] exampleShape)
    : ISoftTargetSource, IAsyncDisposable
{
    private readonly SemaphoreSlim writeGate = new(1, 1);
    private readonly ConcurrentQueue<(string Id, TaskCompletionSource<SoftTargetsResponse> Reply)> inFlight = new();
    private AsyncDuplexStreamingCall<SoftTargetsRequest, SoftTargetsResponse>? call;
    private long nextId;

    private DType OutputDType => options.TargetsDtype == "float16" ? DType.Float16 : DType.Float32;

    public async Task<TeacherIdentity> DescribeAsync(CancellationToken cancellationToken)
    {
        var reply = await client.DescribeAsync(new DescribeRequest { Teacher = options.Teacher },
            deadline: DateTime.UtcNow.AddSeconds(options.TimeoutSeconds), cancellationToken: cancellationToken);
        var info = reply.Teachers.SingleOrDefault(t => t.Name == options.Teacher)
                   ?? throw new TeacherUnavailableException($"the teacher service does not describe a teacher named '{options.Teacher}'.");
        return new TeacherIdentity(info.Name, info.Version, info.NumOutputs);
    }

    public async Task<SoftTargetBatch> GetAsync(ReadOnlyMemory<byte> pixels, int count, CancellationToken cancellationToken)
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
        var reply = new TaskCompletionSource<SoftTargetsResponse>(TaskCreationOptions.RunContinuationsAsynchronously);

        await writeGate.WaitAsync(cancellationToken);
        try
        {
            var stream = call ??= OpenStream();
            inFlight.Enqueue((id, reply));
            await stream.RequestStream.WriteAsync(request, cancellationToken);
        }
        catch (RpcException e)
        {
            Reset(e);
            throw;
        }
        finally
        {
            writeGate.Release();
        }

        var response = await reply.Task.WaitAsync(TimeSpan.FromSeconds(options.TimeoutSeconds), cancellationToken);
        if (response.ResultCase == SoftTargetsResponse.ResultOneofCase.Error)
            throw new TeacherBatchException((StatusCode)response.Error.Code, response.Error.Message);
        var wire = new WireTensor(response.LogProbs.Shape.ToArray(), (WireDType)response.LogProbs.Dtype, response.LogProbs.Data.Memory);
        if (wire.Shape.Length != 2 || wire.Shape[0] != count)
            throw new TeacherBatchException(StatusCode.Internal, $"the teacher answered {count} examples with a tensor of shape [{string.Join(", ", wire.Shape)}].");
        return new SoftTargetBatch(TensorCodec.ToFloats(wire), count, (int)wire.Shape[1], response.TeacherVersion);
    }

    private AsyncDuplexStreamingCall<SoftTargetsRequest, SoftTargetsResponse> OpenStream()
    {
        var opened = client.SoftTargets();
        _ = ReadRepliesAsync(opened);
        return opened;
    }

    private async Task ReadRepliesAsync(AsyncDuplexStreamingCall<SoftTargetsRequest, SoftTargetsResponse> stream)
    {
        try
        {
            await foreach (var response in stream.ResponseStream.ReadAllAsync())
            {
                if (!inFlight.TryDequeue(out var next))
                    throw new InvalidOperationException($"the teacher sent reply '{response.RequestId}' to no request.");
                if (next.Id != response.RequestId)
                    throw new InvalidOperationException($"the teacher answered request '{response.RequestId}' where '{next.Id}' was due.");
                next.Reply.TrySetResult(response);
            }
            Reset(new RpcException(new Status(StatusCode.Unavailable, "the teacher closed the stream.")));
        }
        catch (Exception e)
        {
            Reset(e);
        }
    }

    /// <summary>Fails everything in flight and forgets the stream, so that the next request opens a new one.</summary>
    private void Reset(Exception cause)
    {
        var broken = Interlocked.Exchange(ref call, null);
        while (inFlight.TryDequeue(out var pending)) pending.Reply.TrySetException(cause);
        broken?.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        var open = call;
        if (open is not null)
        {
            try { await open.RequestStream.CompleteAsync(); }
            catch (Exception) { /* the stream is going away either way */ }
            open.Dispose();
        }
        writeGate.Dispose();
    }
}

/// <summary>The teacher answered one batch with an error.</summary>
public sealed class TeacherBatchException(StatusCode code, string message) : Exception($"{code}: {message}")
{
    public StatusCode Code { get; } = code;
}

/// <summary>The teacher service cannot serve what this student needs.</summary>
public sealed class TeacherUnavailableException(string message) : Exception(message);
