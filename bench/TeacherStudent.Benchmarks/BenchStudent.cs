using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.Benchmarks;

/// <summary>
/// One simulated student: its own connection and one open SoftTargets stream, as a trainer
/// process has. Requests are plain uint8 Fashion-MNIST images.
/// </summary>
public sealed class BenchStudent : IAsyncDisposable
{
    private readonly GrpcChannel channel;
    private readonly AsyncDuplexStreamingCall<SoftTargetsRequest, SoftTargetsResponse> stream;
    private long nextId;

    public BenchStudent(string address)
    {
        channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20, MaxSendMessageSize = 64 << 20 });
        stream = new Teacher.TeacherClient(channel).SoftTargets();
    }

    public static SoftTargetsRequest Request(ReadOnlyMemory<byte> pixels, int count, float temperature, long id) => new()
    {
        RequestId = id.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Teacher = "fashion",
        Temperature = temperature,
        OutputDtype = DType.Float32,
        Inputs = new Contracts.V1.Tensor { Shape = { count, 1, 28, 28 }, Dtype = DType.Uint8, Data = UnsafeByteOperations.UnsafeWrap(pixels) },
    };

    /// <summary>
    /// A request for the same examples sent as their digests (hashed here, as a student does for
    /// every batch it sends this way): shape and dtype, no pixels.
    /// </summary>
    public static SoftTargetsRequest DigestRequest(ReadOnlyMemory<byte> pixels, int count, float temperature, long id) =>
        KnownDigestRequest(ExampleDigests.Compute(pixels, count), count, temperature, id);

    /// <summary>A request for examples sent as digests the student already holds.</summary>
    public static SoftTargetsRequest KnownDigestRequest(ReadOnlyMemory<byte> digests, int count, float temperature, long id)
    {
        var request = Request(ReadOnlyMemory<byte>.Empty, count, temperature, id);
        request.ExampleDigests = UnsafeByteOperations.UnsafeWrap(digests);
        return request;
    }

    /// <summary>Sends one batch and waits for its reply; returns the reply and the round-trip time.</summary>
    public async Task<(SoftTargetsResponse Reply, TimeSpan Latency)> AskAsync(ReadOnlyMemory<byte> pixels, int count, float temperature, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await stream.RequestStream.WriteAsync(Request(pixels, count, temperature, ++nextId), cancellationToken);
        var reply = await ReadAsync(cancellationToken);
        return (reply, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>
    /// Sends batches back to back with up to <paramref name="inFlight"/> unanswered (as a trainer
    /// asks for the next batches while it trains on this one); returns every reply.
    /// </summary>
    /// <param name="sendAs">Pixels, digests hashed here per batch, or <paramref name="batches"/> already holding digests.</param>
    public async Task<List<SoftTargetsResponse>> StreamAsync(IReadOnlyList<ReadOnlyMemory<byte>> batches, int countPerBatch, float temperature,
        int inFlight, CancellationToken cancellationToken, SendAs sendAs = SendAs.Pixels)
    {
        var replies = new List<SoftTargetsResponse>(batches.Count);
        int sent = 0;
        while (replies.Count < batches.Count)
        {
            while (sent < batches.Count && sent - replies.Count < inFlight)
            {
                var batch = batches[sent++];
                var request = sendAs switch
                {
                    SendAs.Digests => DigestRequest(batch, countPerBatch, temperature, ++nextId),
                    SendAs.KnownDigests => KnownDigestRequest(batch, countPerBatch, temperature, ++nextId),
                    _ => Request(batch, countPerBatch, temperature, ++nextId),
                };
                await stream.RequestStream.WriteAsync(request, cancellationToken);
            }
            replies.Add(await ReadAsync(cancellationToken));
        }
        return replies;
    }

    private async Task<SoftTargetsResponse> ReadAsync(CancellationToken cancellationToken)
    {
        if (!await stream.ResponseStream.MoveNext(cancellationToken))
            throw new InvalidOperationException("the teacher closed the stream.");
        var reply = stream.ResponseStream.Current;
        if (reply.ResultCase == SoftTargetsResponse.ResultOneofCase.Error)
            throw new InvalidOperationException($"the teacher answered {reply.Error.Code}: {reply.Error.Message}");
        return reply;
    }

    public async ValueTask DisposeAsync()
    {
        await stream.RequestStream.CompleteAsync();
        stream.Dispose();
        channel.Dispose();
    }
}

/// <summary>How a bench student sends its examples.</summary>
public enum SendAs
{
    /// <summary>Their pixels.</summary>
    Pixels,
    /// <summary>Their SHA-256 digests, hashed as each batch is sent.</summary>
    Digests,
    /// <summary>Digests the student computed before (the batches hold digests, not pixels).</summary>
    KnownDigests,
}
