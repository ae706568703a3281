using Grpc.AspNetCore.Server;
using Microsoft.Extensions.Options;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Registry;

namespace TeacherStudent.Teacher.Rpc;

/// <summary>
/// Raises gRPC's message size limits (4 MB by default) to what the largest allowed batch needs:
/// MaxBatch float32 examples in, MaxBatch float32 rows out (for a language model: MaxBatch
/// int64 sequences of the context length in, dense float32 targets for all of them out). Requests up to twice that size are
/// still read, so that a batch over MaxBatch gets a polite RESOURCE_EXHAUSTED for that batch
/// rather than a dead stream.
/// </summary>
public sealed class GrpcMessageLimits(TeacherRegistry registry) : IConfigureOptions<GrpcServiceOptions>
{
    // Room for the request's other fields and protobuf framing.
    private const int Headroom = 1 << 20;

    public void Configure(GrpcServiceOptions options)
    {
        long receive = Headroom, send = Headroom;
        foreach (var teacher in registry.All)
        {
            // Float32 pixels, or int64 token ids (the widest a language model takes).
            var elementBytes = (teacher.Language is null ? WireDType.Float32 : WireDType.Int64).ElementSize();
            var exampleBytes = teacher.ExampleShape.Aggregate(1L, (n, d) => n * d) * elementBytes;
            receive = Math.Max(receive, 2L * teacher.MaxBatch * exampleBytes + Headroom);
            // A language model answers every position of every sequence, all V tokens at most.
            var positions = teacher.Language is null ? 1 : teacher.ExampleShape[0];
            send = Math.Max(send, teacher.MaxBatch * positions * teacher.NumOutputs * WireDType.Float32.ElementSize() + Headroom);
        }
        options.MaxReceiveMessageSize = (int)Math.Min(receive, int.MaxValue);
        options.MaxSendMessageSize = (int)Math.Min(send, int.MaxValue);
    }
}
