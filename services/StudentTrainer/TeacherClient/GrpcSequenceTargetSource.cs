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
/// another one refuses instead of scoring ids that mean other text. A student with another tokenizer
/// sends text instead (<see cref="GetForTextsAsync"/>), which the teacher tokenizes itself. The
/// <see cref="TeacherRetry"/> decides which calls are tried again.
/// </summary>
public sealed class GrpcSequenceTargetSource(Teacher.TeacherClient client, TeacherClientOptions options, TeacherRetry retry)
    : ITextTargetSource, IAsyncDisposable
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

    public Task<TextTargetBatch> GetForTextsAsync(IReadOnlyList<string> texts, SequenceTargetSettings settings, CancellationToken cancellationToken) =>
        retry.ExecuteAsync(attempt => GetTextsOnceAsync(texts, settings, attempt), cancellationToken);

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
        var request = Request(settings);
        request.TokenizerDigest = TokenizerDigest;
        request.Inputs = Ids(tokens.Span, sequences, length, vocabulary);
        var response = await connection.AskAsync(request, cancellationToken);
        var targets = settings.Dense
            ? Dense(response, sequences, length, settings)
            : Sparse(response, sequences, length, vocabulary, settings);
        Count(response, (long)sequences * length);
        return targets;
    }

    private async Task<TextTargetBatch> GetTextsOnceAsync(IReadOnlyList<string> texts, SequenceTargetSettings settings, CancellationToken cancellationToken)
    {
        var vocabulary = (identity ?? await DescribeOnceAsync(cancellationToken)).VocabularySize;
        var request = Request(settings);
        request.Texts.AddRange(texts);
        var response = await connection.AskAsync(request, cancellationToken);
        var tokens = Tokens(response, texts.Count);
        var targets = settings.Dense
            ? Dense(response, tokens.Sequences, tokens.Length, settings)
            : Sparse(response, tokens.Sequences, tokens.Length, vocabulary, settings);
        Count(response, (long)tokens.Sequences * tokens.Length);
        return new TextTargetBatch(tokens, targets);
    }

    // The teacher's tokens of the texts sent: ids [B, L], lengths [B], byte spans [B, L, 2].
    private TokenizedTexts Tokens(SoftTargetsResponse response, int sequences)
    {
        if (response.TextTokens is not { Ids: { } ids, ByteSpans: { } spans } text || ids.Dtype != DType.Int32 || ids.Shape.Count != 2 || ids.Shape[0] != sequences
            || !spans.Shape.SequenceEqual([sequences, ids.Shape[1], 2]) || spans.Dtype != DType.Int32 || text.Lengths.Count != sequences)
            throw Unexpected(response, $"the teacher's tokens of {sequences} texts (ids [{sequences}, L], byte spans [{sequences}, L, 2], {sequences} lengths)");
        var length = (int)ids.Shape[1];
        var flat = MemoryMarshal.Cast<byte, int>(spans.Data.Span);
        var starts = new int[sequences * length];
        var ends = new int[starts.Length];
        for (var i = 0; i < starts.Length; i++) (starts[i], ends[i]) = (flat[2 * i], flat[2 * i + 1]);
        return new TokenizedTexts(sequences, length, MemoryMarshal.Cast<byte, int>(ids.Data.Span).ToArray(), [.. text.Lengths], starts, ends);
    }

    private SoftTargetsRequest Request(SequenceTargetSettings settings) => new()
    {
        Teacher = options.Teacher,
        Temperature = settings.Temperature,
        OutputDtype = OutputDType,
        K = settings.K,
        SparseKind = settings.Kind == SparseTargetKind.Sampled ? SparseKind.Sampled : SparseKind.TopK,
        Seed = settings.Seed,
    };

    private void Count(SoftTargetsResponse response, long positions)
    {
        Interlocked.Add(ref responseBytes, response.CalculateSize());
        Interlocked.Add(ref payloadBytes, Payload(response));
        Interlocked.Add(ref tokensAnswered, positions);
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
