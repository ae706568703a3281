using System.Buffers.Binary;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Rpc;

namespace TeacherStudent.Teacher.Language;

/// <summary>
/// Checks a SoftTargets request to a language-model teacher. A bad request becomes a
/// <see cref="BatchError"/> with a google.rpc code and one plain sentence: what was wrong and
/// what is allowed.
/// </summary>
public static class SequenceRequestValidator
{
    /// <summary>Element types token ids may travel as.</summary>
    public static readonly IReadOnlyList<WireDType> TokenDTypes = [WireDType.UInt16, WireDType.Int32, WireDType.Int64];

    /// <summary>
    /// The checked batch, or null with <paramref name="error"/> set. <paramref name="askedAs"/> is the name messages
    /// give the teacher when the request names another (an ensemble checked against one of its members).
    /// </summary>
    public static ValidatedSequenceBatch? Check(SoftTargetsRequest request, LoadedTeacher teacher, out BatchError? error, string? askedAs = null)
    {
        var lm = teacher.Language ?? throw new ArgumentException($"teacher '{teacher.Name}' is not a language model.", nameof(teacher));
        var name = askedAs ?? teacher.Name;
        var context = lm.ContextLength;
        var vocabulary = lm.VocabularySize;
        error = null;
        if (request.Texts.Count > 0) return CheckTexts(request, teacher, lm, name, out error);
        if (request.TokenizerDigest.Length > 0 && request.TokenizerDigest != lm.Tokenizer.Digest)
            return Fail(out error, StatusCode.FailedPrecondition,
                $"the caller's tokenizer (digest {EchoedText.Of(request.TokenizerDigest)}) is not teacher '{name}''s (digest {lm.Tokenizer.Digest}): "
                + "its token ids would mean other text; tokenize with the teacher's tokenizer (Describe gives its digest).");
        if (!request.ExampleDigests.IsEmpty)
            return Fail(out error, StatusCode.InvalidArgument,
                $"teacher '{name}' is a language model: example_digests are for classifier teachers; send the token ids in inputs.");
        var inputs = request.Inputs;
        if (inputs is null)
            return Fail(out error, StatusCode.InvalidArgument, $"the inputs are missing; send token ids of shape [B, L] (L up to {context}) as uint16, int32 or int64.");
        var dtype = (WireDType)inputs.Dtype;
        if (!TokenDTypes.Contains(dtype))
            return Fail(out error, StatusCode.InvalidArgument, $"token ids of dtype {dtype.DisplayName()} are not accepted; send uint16, int32 or int64.");
        var shape = inputs.Shape.ToArray();
        if (shape.Length != 2 || shape[0] < 1 || shape[1] < 1)
            return Fail(out error, StatusCode.InvalidArgument,
                $"token ids of shape [{string.Join(", ", shape)}] are not a batch of sequences; send shape [B, L] with B >= 1 and 1 <= L <= {context}.");
        if (shape[1] > context)
            return Fail(out error, StatusCode.InvalidArgument,
                $"sequences of {shape[1]} tokens are longer than teacher '{name}''s context of {context}; send at most {context} tokens per sequence.");
        if (shape[0] > teacher.MaxBatch)
            return Fail(out error, StatusCode.ResourceExhausted,
                $"the batch has {shape[0]} sequences but teacher '{name}' takes at most {teacher.MaxBatch} per request; split it into smaller batches.");
        var wire = new WireTensor(shape, dtype, inputs.Data.Memory);
        if (wire.Validate() is { } malformed)
            return Fail(out error, StatusCode.InvalidArgument, $"the token ids are malformed: {malformed}");
        var ids = Decode(wire);
        for (int i = 0; i < ids.Length; i++)
            if (ids[i] < 0 || ids[i] >= vocabulary)
                return Fail(out error, StatusCode.InvalidArgument,
                    $"token id {ids[i]} (sequence {i / shape[1]}, position {i % shape[1]}) is outside teacher '{name}''s vocabulary of {vocabulary} (ids 0..{vocabulary - 1}).");
        var tokens = Array.ConvertAll(ids, id => (int)id);
        return CheckSettings(request, teacher, tokens, (int)shape[0], (int)shape[1], null, out error);
    }

    // A batch of texts, which the teacher tokenizes itself and answers with the bytes every token covers.
    private static ValidatedSequenceBatch? CheckTexts(SoftTargetsRequest request, LoadedTeacher teacher, LanguageModel lm, string name, out BatchError? error)
    {
        if (request.Inputs is not null)
            return Fail(out error, StatusCode.InvalidArgument, "the batch has both inputs and texts; send token ids in inputs or texts for the teacher to tokenize, not both.");
        if (request.TokenizerDigest.Length > 0)
            return Fail(out error, StatusCode.InvalidArgument,
                $"tokenizer_digest '{EchoedText.Of(request.TokenizerDigest)}' is for token ids in inputs; texts are tokenized by teacher '{name}' itself: leave it empty.");
        if (!request.ExampleDigests.IsEmpty)
            return Fail(out error, StatusCode.InvalidArgument,
                $"teacher '{name}' is a language model: example_digests are for classifier teachers; send the texts alone.");
        if (request.Texts.Count > teacher.MaxBatch)
            return Fail(out error, StatusCode.ResourceExhausted,
                $"the batch has {request.Texts.Count} texts but teacher '{name}' takes at most {teacher.MaxBatch} per request; split it into smaller batches.");
        if (lm.Tokenizer is not HuggingFaceTokenizer { Vocabulary.IsByteLevel: true } tokenizer)
            return Fail(out error, StatusCode.FailedPrecondition,
                $"teacher '{name}''s tokenizer is not byte-level BPE, so it cannot say which bytes of a text its tokens cover; send token ids in inputs instead.");
        TokenizedTexts tokens;
        try
        {
            tokens = TokenizedTexts.Of(tokenizer, request.Texts, lm.ContextLength, TokenizedTexts.PadIdOf(lm.Special));
        }
        catch (InvalidDataException e)
        {
            return Fail(out error, StatusCode.FailedPrecondition, $"teacher '{name}' cannot give byte spans: {e.Message}");
        }
        return CheckSettings(request, teacher, tokens.Ids, tokens.Sequences, tokens.Length, tokens, out error);
    }

    // The temperature, output dtype, k and sparse kind, which every batch states.
    private static ValidatedSequenceBatch? CheckSettings(SoftTargetsRequest request, LoadedTeacher teacher, int[] tokens, int sequences, int length,
        TokenizedTexts? text, out BatchError? error)
    {
        var vocabulary = teacher.Language!.VocabularySize;
        if (SoftTargetsRequestValidator.CheckTemperatureAndOutput(request, out var temperature, out var outputDType) is { } unusable)
        {
            error = unusable;
            return null;
        }
        if (request.K < 0 || request.K > vocabulary)
            return Fail(out error, StatusCode.InvalidArgument, $"k = {request.K} is not allowed; ask for 0 (every token) up to the vocabulary size {vocabulary}.");
        var kind = request.SparseKind switch
        {
            SparseKind.Unspecified or SparseKind.TopK => SparseTargetKind.TopK,
            SparseKind.Sampled => SparseTargetKind.Sampled,
            _ => (SparseTargetKind?)null,
        };
        if (kind is null)
            return Fail(out error, StatusCode.InvalidArgument, $"sparse kind {(int)request.SparseKind} is unknown; use SPARSE_KIND_TOP_K or SPARSE_KIND_SAMPLED.");
        var settings = new SequenceTargetSettings(temperature, request.K, kind.Value, request.Seed);
        error = null;
        return new ValidatedSequenceBatch(teacher, tokens, sequences, length, settings, outputDType, request.Uncached, text);
    }

    private static long[] Decode(WireTensor wire)
    {
        var data = wire.Data.Span;
        var size = wire.DType.ElementSize();
        var ids = new long[data.Length / size];
        for (int i = 0; i < ids.Length; i++)
        {
            var bytes = data.Slice(i * size, size);
            ids[i] = wire.DType switch
            {
                WireDType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(bytes),
                WireDType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(bytes),
                _ => BinaryPrimitives.ReadInt64LittleEndian(bytes),
            };
        }
        return ids;
    }

    private static ValidatedSequenceBatch? Fail(out BatchError error, StatusCode code, string message)
    {
        error = new BatchError { Code = (int)code, Message = message };
        return null;
    }
}
