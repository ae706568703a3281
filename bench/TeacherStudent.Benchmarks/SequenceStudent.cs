using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using TeacherStudent.Contracts.V1;

namespace TeacherStudent.Benchmarks;

/// <summary>
/// One simulated language-model student: its own connection and one open SoftTargets stream, sending
/// batches of token sequences (int32) and asking for top-k targets, as the language trainer does.
/// </summary>
public sealed class SequenceStudent : IAsyncDisposable
{
    private readonly GrpcChannel channel;
    private readonly AsyncDuplexStreamingCall<SoftTargetsRequest, SoftTargetsResponse> stream;
    private readonly string teacher;
    private long nextId;

    public SequenceStudent(string address, string teacher)
    {
        this.teacher = teacher;
        channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 256 << 20, MaxSendMessageSize = 64 << 20 });
        stream = new Teacher.TeacherClient(channel).SoftTargets();
    }

    /// <summary>
    /// Sends <paramref name="batches"/> (each [sequences, length] ids, row-major) back to back with up to
    /// <paramref name="inFlight"/> unanswered; returns the sequences answered from the teacher's cache (0 when every one was computed).
    /// </summary>
    public async Task<int> StreamAsync(IReadOnlyList<int[]> batches, int sequences, int length, int k, float temperature, int inFlight,
        CancellationToken cancellationToken)
    {
        int sent = 0, answered = 0, hits = 0;
        while (answered < batches.Count)
        {
            while (sent < batches.Count && sent - answered < inFlight)
                await stream.RequestStream.WriteAsync(Request(batches[sent++], sequences, length, k, temperature), cancellationToken);
            if (!await stream.ResponseStream.MoveNext(cancellationToken)) throw new InvalidOperationException("the teacher closed the stream.");
            var reply = stream.ResponseStream.Current;
            if (reply.ResultCase == SoftTargetsResponse.ResultOneofCase.Error)
                throw new InvalidOperationException($"the teacher answered {reply.Error.Code}: {reply.Error.Message}");
            hits += reply.CacheHits;
            answered++;
        }
        return hits;
    }

    private SoftTargetsRequest Request(int[] tokens, int sequences, int length, int k, float temperature) => new()
    {
        RequestId = (++nextId).ToString(System.Globalization.CultureInfo.InvariantCulture),
        Teacher = teacher,
        Temperature = temperature,
        K = k,
        SparseKind = SparseKind.TopK,
        Inputs = new Contracts.V1.Tensor
        {
            Shape = { sequences, length },
            Dtype = DType.Int32,
            Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(tokens.AsSpan())),
        },
    };

    public async ValueTask DisposeAsync()
    {
        await stream.RequestStream.CompleteAsync();
        stream.Dispose();
        channel.Dispose();
    }
}
