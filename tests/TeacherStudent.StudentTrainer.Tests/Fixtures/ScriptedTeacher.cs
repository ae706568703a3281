using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.Tests.Fixtures;

/// <summary>
/// A stand-in teacher service whose behaviour a test scripts: it answers every example with
/// uniform log-probabilities over <see cref="Classes"/> classes, and can cut a stream or answer a
/// batch with an error on request number N. Records what it was sent.
/// </summary>
public sealed class ScriptedTeacher : Contracts.V1.Teacher.TeacherBase
{
    public const int Classes = 10;
    public const string Version = "v-scripted";

    private int requests;
    private int streams;

    /// <summary>Request numbers (1-based, counted over all streams) on which the stream is cut.</summary>
    public ConcurrentDictionary<int, bool> CutOn { get; } = new();

    /// <summary>Request numbers answered with a BatchError of INVALID_ARGUMENT.</summary>
    public ConcurrentDictionary<int, bool> RejectOn { get; } = new();

    /// <summary>How many SoftTargets streams were opened.</summary>
    public int Streams => Volatile.Read(ref streams);

    /// <summary>How many requests arrived, on all streams.</summary>
    public int Requests => Volatile.Read(ref requests);

    /// <summary>The x-api-key header of every call, in order of arrival.</summary>
    public ConcurrentQueue<string?> ApiKeys { get; } = new();

    public override Task<DescribeResponse> Describe(DescribeRequest request, ServerCallContext context)
    {
        ApiKeys.Enqueue(context.RequestHeaders.GetValue(SoftTargetsConnection.ApiKeyHeader));
        return Task.FromResult(new DescribeResponse
        {
            Teachers = { new TeacherInfo { Name = request.Teacher, Version = Version, NumOutputs = Classes } },
        });
    }

    public override async Task SoftTargets(IAsyncStreamReader<SoftTargetsRequest> requestStream,
        IServerStreamWriter<SoftTargetsResponse> responseStream, ServerCallContext context)
    {
        Interlocked.Increment(ref streams);
        ApiKeys.Enqueue(context.RequestHeaders.GetValue(SoftTargetsConnection.ApiKeyHeader));
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            int number = Interlocked.Increment(ref requests);
            if (CutOn.ContainsKey(number))
            {
                // As a teacher process dying mid-stream looks to the client: the connection goes.
                context.GetHttpContext().Abort();
                return;
            }
            var response = new SoftTargetsResponse { RequestId = request.RequestId, Teacher = request.Teacher, TeacherVersion = Version };
            if (RejectOn.ContainsKey(number))
                response.Error = new BatchError { Code = (int)StatusCode.InvalidArgument, Message = "temperature must be positive." };
            else
                response.LogProbs = Uniform((int)request.Inputs.Shape[0]);
            await responseStream.WriteAsync(response, context.CancellationToken);
        }
    }

    private static Tensor Uniform(int count)
    {
        var values = Enumerable.Repeat(-MathF.Log(Classes), count * Classes).ToArray();
        var bytes = new byte[values.Length * sizeof(float)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return new Tensor { Shape = { count, Classes }, Dtype = DType.Float32, Data = ByteString.CopyFrom(bytes) };
    }
}
