using Google.Protobuf;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Training;
using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.StudentTrainer;

/// <summary>
/// Soft targets from a teacher service over one long-lived <c>SoftTargets</c> stream
/// (<see cref="SoftTargetsConnection"/>); the <see cref="TeacherRetry"/> decides which calls are
/// tried again (a teacher restarting), and a batch the teacher answered with an error never is.
/// </summary>
public sealed class GrpcSoftTargetSource(
    Teacher.TeacherClient client, TeacherClientOptions options, double temperature, long[] exampleShape, TeacherRetry retry)
    : ISoftTargetSource, IAsyncDisposable
{
    private readonly SoftTargetsConnection connection = new(client, options);

    private DType OutputDType => options.TargetsDtype == "float16" ? DType.Float16 : DType.Float32;

    public Task<TeacherIdentity> DescribeAsync(CancellationToken cancellationToken) =>
        retry.ExecuteAsync(DescribeOnceAsync, cancellationToken);

    public Task<SoftTargetBatch> GetAsync(ReadOnlyMemory<byte> pixels, int count, CancellationToken cancellationToken) =>
        retry.ExecuteAsync(attempt => GetOnceAsync(pixels, count, attempt), cancellationToken);

    private async Task<TeacherIdentity> DescribeOnceAsync(CancellationToken cancellationToken)
    {
        var info = await connection.DescribeAsync(cancellationToken);
        return new TeacherIdentity(info.Name, info.Version, info.NumOutputs);
    }

    private async Task<SoftTargetBatch> GetOnceAsync(ReadOnlyMemory<byte> pixels, int count, CancellationToken cancellationToken)
    {
        var request = new SoftTargetsRequest
        {
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

        var response = await connection.AskAsync(request, cancellationToken);
        if (response.ResultCase != SoftTargetsResponse.ResultOneofCase.LogProbs)
            throw new TeacherBatchException(StatusCode.Internal, $"teacher '{options.Teacher}' answered with {response.ResultCase}, not log-probabilities: is it a classifier?");
        var wire = new WireTensor(response.LogProbs.Shape.ToArray(), (WireDType)response.LogProbs.Dtype, response.LogProbs.Data.Memory);
        if (wire.Shape.Length != 2 || wire.Shape[0] != count)
            throw new TeacherBatchException(StatusCode.Internal, $"the teacher answered {count} examples with a tensor of shape [{string.Join(", ", wire.Shape)}].");
        return new SoftTargetBatch(TensorCodec.ToFloats(wire), count, (int)wire.Shape[1], response.TeacherVersion);
    }

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}

/// <summary>The teacher answered one batch with an error.</summary>
public sealed class TeacherBatchException(StatusCode code, string message) : Exception($"{code}: {message}")
{
    public StatusCode Code { get; } = code;
}

/// <summary>The teacher service cannot serve what this student needs.</summary>
public sealed class TeacherUnavailableException(string message) : Exception(message);
