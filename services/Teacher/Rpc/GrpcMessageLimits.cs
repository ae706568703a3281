using Grpc.AspNetCore.Server;
using Microsoft.Extensions.Options;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Registry;

namespace TeacherStudent.Teacher.Rpc;

/// <summary>
/// Raises gRPC's message size limits (4 MB by default) to what the largest allowed batch needs:
/// MaxBatch float32 examples in, MaxBatch float32 rows out. Requests up to twice that size are
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
            var exampleBytes = teacher.ExampleShape.Aggregate(1L, (n, d) => n * d) * WireDType.Float32.ElementSize();
            receive = Math.Max(receive, 2L * teacher.MaxBatch * exampleBytes + Headroom);
            send = Math.Max(send, (long)teacher.MaxBatch * teacher.NumOutputs * WireDType.Float32.ElementSize() + Headroom);
        }
        options.MaxReceiveMessageSize = (int)Math.Min(receive, int.MaxValue);
        options.MaxSendMessageSize = (int)Math.Min(send, int.MaxValue);
    }
}
