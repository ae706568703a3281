using Google.Protobuf;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Training;
using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.StudentTrainer.TeacherClient;

/// <summary>
/// Soft targets from a teacher service over one long-lived <c>SoftTargets</c> stream
/// (<see cref="SoftTargetsConnection"/>); the <see cref="TeacherRetry"/> decides which calls are
/// tried again (a teacher restarting), and a batch the teacher answered with an error never is.
/// Once a batch sent as pixels comes back wholly from the teacher's cache (a later epoch, or
/// examples another student asked for), batches are sent as their examples' digests, 32 bytes
/// each instead of 784; a batch the cache does not wholly hold is sent again as pixels (one
/// reply, one teacher version), and pixels are sent until the cache holds a whole batch again.
/// A source of views that never repeat (<see cref="Uncached"/>: augmented images) asks the teacher
/// to keep them out of its cache, and never sends digests.
/// </summary>
public sealed class GrpcSoftTargetSource(
    Teacher.TeacherClient client, TeacherClientOptions options, double temperature, long[] exampleShape, TeacherRetry retry)
    : ISoftTargetSource, IAsyncDisposable
{
    private readonly SoftTargetsConnection connection = new(client, options);
    private int askByDigest;  // 0: pixels; 1: digests; -1: the teacher refused digests, pixels for good
    private long examplesByDigest;
    private long examplesByPixels;

    /// <summary>
    /// The examples asked for will not be asked again (an online student's augmented views): each batch is
    /// sent as <c>uncached</c>, so the teacher neither looks them up nor fills its cache with them.
    /// </summary>
    public bool Uncached { get; init; }

    /// <summary>Examples answered from a batch sent as digests.</summary>
    public long ExamplesByDigest => Interlocked.Read(ref examplesByDigest);

    /// <summary>Examples answered from a batch sent as pixels (including batches sent again after a digest lookup fell short).</summary>
    public long ExamplesByPixels => Interlocked.Read(ref examplesByPixels);

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
        if (!Uncached && Volatile.Read(ref askByDigest) == 1)
        {
            try
            {
                var looked = await connection.AskAsync(Request(count, digests: ExampleDigests.Compute(pixels, count)), cancellationToken);
                if (looked.ResultCase == SoftTargetsResponse.ResultOneofCase.LogProbs && looked.Missing.Count == 0)
                {
                    Interlocked.Add(ref examplesByDigest, count);
                    return Batch(looked, count);
                }
                Interlocked.CompareExchange(ref askByDigest, 0, 1);
            }
            catch (TeacherBatchException)
            {
                // A teacher that refuses digests (one older than them reads a batch without pixels)
                // is asked with pixels from now on.
                Volatile.Write(ref askByDigest, -1);
            }
        }
        var request = Request(count, digests: null);
        // The buffer is not touched again until the reply is in, so it can be sent without a copy.
        request.Inputs.Data = UnsafeByteOperations.UnsafeWrap(pixels);
        var response = await connection.AskAsync(request, cancellationToken);
        var batch = Batch(response, count);
        Interlocked.Add(ref examplesByPixels, count);
        if (response.CacheHits == count) Interlocked.CompareExchange(ref askByDigest, 1, 0);
        return batch;
    }

    private SoftTargetsRequest Request(int count, byte[]? digests)
    {
        var request = new SoftTargetsRequest
        {
            Teacher = options.Teacher,
            Temperature = (float)temperature,
            OutputDtype = OutputDType,
            Inputs = new Contracts.V1.Tensor { Shape = { count }, Dtype = DType.Uint8 },
        };
        request.Inputs.Shape.AddRange(exampleShape);
        if (digests is not null) request.ExampleDigests = UnsafeByteOperations.UnsafeWrap(digests);
        else request.Uncached = Uncached;
        return request;
    }

    private SoftTargetBatch Batch(SoftTargetsResponse response, int count)
    {
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
