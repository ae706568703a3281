using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.StudentTrainer.TeacherClient;

/// <summary>
/// A language-model teacher's soft targets from a teacher service, over one long-lived
/// <c>SoftTargets</c> stream (<see cref="SoftTargetsConnection"/>). Token ids travel as uint16
/// when the vocabulary fits; every request names the student's tokenizer, so a teacher with
/// another one refuses instead of scoring ids that mean other text. The
/// <see cref="TeacherRetry"/> decides which calls are tried again.
/// </summary>
public sealed class GrpcSequenceTargetSource(Teacher.TeacherClient client, TeacherClientOptions options, TeacherRetry retry)
    : ISequenceTargetSource, IAsyncDisposable
{
    private readonly SoftTargetsConnection connection = new(client, options);
    private LanguageTeacherIdentity? identity;

    private long responseBytes, payloadBytes, tokensAnswered;

    /// <summary>Bytes of every successful reply so far, as protobuf messages on the wire.</summary>
    public long ResponseBytes => Interlocked.Read(ref responseBytes);

    /// <summary>Bytes of the tensors in those replies: exactly what the service's cache keeps per sequence.</summary>
    public long PayloadBytes => Interlocked.Read(ref payloadBytes);

    /// <summary>Token positions answered so far.</summary>
    public long TokensAnswered => Interlocked.Read(ref tokensAnswered);

    /// <summary>The digest of the student's tokenizer, sent with every request; empty sends none.</summary>
    public string TokenizerDigest { get; init; } = "";

    private DType OutputDType => options.TargetsDtype == "float16" ? DType.Float16 : DType.Float32;

    public Task<LanguageTeacherIdentity> DescribeAsync(CancellationToken cancellationToken) =>
        retry.ExecuteAsync(DescribeOnceAsync, cancellationToken);

    public Task<SequenceTargetBatch> GetAsync(ReadOnlyMemory<int> tokens, int sequences, int length, SequenceTargetSettings settings,
        CancellationToken cancellationToken) =>
        retry.ExecuteAsync(attempt => GetOnceAsync(tokens, sequences, length, settings, attempt), cancellationToken);

    private async Task<LanguageTeacherIdentity> DescribeOnceAsync(CancellationToken cancellationToken)
    {
        var info = await connection.DescribeAsync(cancellationToken);
        if (info.Task != TeacherTask.CausalLm || info.LanguageModel is not { } lm)
            throw new TeacherUnavailableException($"teacher '{options.Teacher}' is a {info.Task}, not a causal language model.");
        return identity = new LanguageTeacherIdentity(info.Name, info.Version, lm.VocabularySize, lm.TokenizerDigest, lm.ContextLength);
    }

    private async Task<SequenceTargetBatch> GetOnceAsync(ReadOnlyMemory<int> tokens, int sequences, int length, SequenceTargetSettings settings,
        CancellationToken cancellationToken)
    {
        var vocabulary = (identity ?? await DescribeOnceAsync(cancellationToken)).VocabularySize;
        var request = new SoftTargetsRequest
        {
            Teacher = options.Teacher,
            Temperature = settings.Temperature,
            OutputDtype = OutputDType,
            K = settings.K,
            SparseKind = settings.Kind == SparseTargetKind.Sampled ? SparseKind.Sampled : SparseKind.TopK,
            Seed = settings.Seed,
            TokenizerDigest = TokenizerDigest,
            Inputs = Ids(tokens.Span, sequences, length, vocabulary),
        };
        var response = await connection.AskAsync(request, cancellationToken);
        var targets = settings.Dense
            ? Dense(response, sequences, length, settings)
            : Sparse(response, sequences, length, vocabulary, settings);
        Interlocked.Add(ref responseBytes, response.CalculateSize());
        Interlocked.Add(ref payloadBytes, Payload(response));
        Interlocked.Add(ref tokensAnswered, (long)sequences * length);
        return targets;
    }

    // The smallest id type that holds the vocabulary.
    private static Contracts.V1.Tensor Ids(ReadOnlySpan<int> tokens, int sequences, int length, int vocabulary)
    {
        byte[] data;
        DType dtype;
        if (vocabulary <= 65536)
        {
            var shorts = new ushort[tokens.Length];
            for (int i = 0; i < shorts.Length; i++) shorts[i] = (ushort)tokens[i];
            (data, dtype) = (MemoryMarshal.AsBytes(shorts.AsSpan()).ToArray(), DType.Uint16);
        }
        else (data, dtype) = (MemoryMarshal.AsBytes(tokens).ToArray(), DType.Int32);
        return new Contracts.V1.Tensor { Shape = { sequences, length }, Dtype = dtype, Data = UnsafeByteOperations.UnsafeWrap(data) };
    }

    private SequenceTargetBatch Dense(SoftTargetsResponse response, int sequences, int length, SequenceTargetSettings settings)
    {
        if (response.ResultCase != SoftTargetsResponse.ResultOneofCase.LogProbs || response.LogProbs.Shape.Count != 3
            || response.LogProbs.Shape[0] != sequences || response.LogProbs.Shape[1] != length)
            throw Unexpected(response, $"dense log-probabilities [{sequences}, {length}, V]");
        var values = Floats(response.LogProbs);
        return new SequenceTargetBatch(sequences, length, (int)response.LogProbs.Shape[2], settings, values, null, null, response.TeacherVersion);
    }

    private SequenceTargetBatch Sparse(SoftTargetsResponse response, int sequences, int length, int vocabulary, SequenceTargetSettings settings)
    {
        long[] expected = [sequences, length, settings.K];
        if (response.ResultCase != SoftTargetsResponse.ResultOneofCase.SparseLogProbs
            || !response.SparseLogProbs.Ids.Shape.SequenceEqual(expected) || !response.SparseLogProbs.LogProbs.Shape.SequenceEqual(expected))
            throw Unexpected(response, $"sparse log-probabilities [{sequences}, {length}, {settings.K}]");
        var sparse = response.SparseLogProbs;
        var ids = sparse.Ids.Dtype switch
        {
            DType.Uint16 => MemoryMarshal.Cast<byte, ushort>(sparse.Ids.Data.Span).ToArray().Select(i => (int)i).ToArray(),
            DType.Int32 => MemoryMarshal.Cast<byte, int>(sparse.Ids.Data.Span).ToArray(),
            _ => throw Unexpected(response, "uint16 or int32 token ids"),
        };
        float[]? tail = null;
        if (settings.Kind == SparseTargetKind.TopK)
        {
            if (sparse.TailLogMass is null || !sparse.TailLogMass.Shape.SequenceEqual([sequences, length]))
                throw Unexpected(response, $"top-k targets with a tail mass [{sequences}, {length}]");
            tail = Floats(sparse.TailLogMass);
        }
        return new SequenceTargetBatch(sequences, length, vocabulary, settings, Floats(sparse.LogProbs), ids, tail, response.TeacherVersion);
    }

    private static long Payload(SoftTargetsResponse response) => response.ResultCase == SoftTargetsResponse.ResultOneofCase.LogProbs
        ? response.LogProbs.Data.Length
        : response.SparseLogProbs.Ids.Data.Length + response.SparseLogProbs.LogProbs.Data.Length + (response.SparseLogProbs.TailLogMass?.Data.Length ?? 0);

    private static float[] Floats(Contracts.V1.Tensor tensor) =>
        TensorCodec.ToFloats(new WireTensor(tensor.Shape.ToArray(), (WireDType)tensor.Dtype, tensor.Data.Memory));

    private TeacherBatchException Unexpected(SoftTargetsResponse response, string wanted) =>
        new(StatusCode.Internal, $"teacher '{options.Teacher}' answered with {response.ResultCase} where {wanted} were due.");

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}
