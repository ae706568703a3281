using System.Buffers.Binary;
using System.Security.Cryptography;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// A language-model teacher's soft targets for a batch of token sequences, computed in process:
/// at every position, log_softmax(logits / T) over the tokenizer's vocabulary (a model whose
/// output is padded past it is cut back to it first), kept whole or for k tokens per position.
/// The teacher service and a student with an in-process teacher both compute them here.
/// </summary>
public static class SequenceTargets
{
    /// <summary>
    /// Dense log-probabilities [B * L, V] of <paramref name="tokens"/> [B, L] (int64, on the model's
    /// device), V the tokenizer's vocabulary. Call inside a dispose scope.
    /// </summary>
    public static Tensor LogProbs(LanguageModel teacher, Tensor tokens, float temperature)
    {
        using var _ = no_grad();
        var logits = teacher.Model.forward(tokens);
        var vocabulary = teacher.VocabularySize;
        // A vocabulary padded past the tokenizer's (to a multiple of 64, say) scores tokens that
        // never occur: they are no part of the distribution a student learns.
        if (logits.shape[2] > vocabulary) logits = logits.narrow(2, 0, vocabulary);
        // A model computing in bfloat16 or float16 gives logits in it; the distribution is taken in float32, as
        // transformers' generate() does, so that log-probabilities are not rounded to 8 (or 11) bits on top.
        if (logits.dtype != ScalarType.Float32) logits = logits.to_type(ScalarType.Float32);
        return SoftTargets.LogProbabilities(logits, temperature).reshape(-1, vocabulary);
    }

    /// <summary>
    /// The targets of <paramref name="tokens"/> ([sequences * length] ids, row-major) as asked by
    /// <paramref name="settings"/>, copied out of torch.
    /// </summary>
    /// <exception cref="ArgumentException">a token id outside the vocabulary, a sequence longer than the model's context, or settings out of range.</exception>
    public static SequenceTargetBatch Compute(LanguageModel teacher, ReadOnlySpan<int> tokens, int sequences, int length, SequenceTargetSettings settings)
    {
        CheckTokens(teacher, tokens, sequences, length);
        settings.Validate(teacher.VocabularySize);
        var device = teacher.Model.parameters().First().device;
        using var scope = NewDisposeScope();
        var input = tensor(tokens.ToArray(), [sequences, length], dtype: ScalarType.Int64, device: device);
        var logProbs = LogProbs(teacher, input, settings.Temperature);
        if (settings.Dense)
            return new SequenceTargetBatch(sequences, length, teacher.VocabularySize, settings, Floats(logProbs), null, null, teacher.Version);

        if (settings.Kind == SparseTargetKind.TopK)
        {
            var top = SparseTargets.TopK(logProbs, settings.K);
            return new SequenceTargetBatch(sequences, length, teacher.VocabularySize, settings, Floats(top.LogProbs),
                Ints(top.Ids), Floats(top.TailLogMass!), teacher.Version);
        }
        // Each sequence's draws come from a generator of its own, seeded by the request's seed and
        // its tokens, on the CPU: the same sequence gets the same draws in any batch, on any device,
        // so a cache can keep them per sequence.
        var rows = logProbs.cpu().reshape(sequences, length, -1);
        var ids = new int[sequences * length * settings.K];
        var values = new float[ids.Length];
        for (int s = 0; s < sequences; s++)
        {
            using var generator = new Generator(SeedFor(settings.Seed, tokens.Slice(s * length, length)));
            var drawn = SparseTargets.Sample(rows[s], settings.K, generator);
            Ints(drawn.Ids).CopyTo(ids, s * length * settings.K);
            Floats(drawn.LogProbs).CopyTo(values, s * length * settings.K);
        }
        return new SequenceTargetBatch(sequences, length, teacher.VocabularySize, settings, values, ids, null, teacher.Version);
    }

    /// <summary>The seed of one sequence's draws: fixed by the request's seed and the sequence's tokens.</summary>
    public static ulong SeedFor(long seed, ReadOnlySpan<int> sequence)
    {
        var bytes = new byte[8 + sequence.Length * 4];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, seed);
        for (int i = 0; i < sequence.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8 + 4 * i), sequence[i]);
        return BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(bytes));
    }

    private static void CheckTokens(LanguageModel teacher, ReadOnlySpan<int> tokens, int sequences, int length)
    {
        if (sequences < 1 || length < 1 || tokens.Length != sequences * length)
            throw new ArgumentException($"{tokens.Length} token ids do not make {sequences} sequences of {length}.");
        if (length > teacher.ContextLength)
            throw new ArgumentException($"sequences of {length} tokens are longer than the teacher's context of {teacher.ContextLength}.");
        var vocabulary = teacher.VocabularySize;
        for (int i = 0; i < tokens.Length; i++)
            if ((uint)tokens[i] >= (uint)vocabulary)
                throw new ArgumentException($"token id {tokens[i]} (position {i}) is outside the vocabulary of {vocabulary}.");
    }

    private static float[] Floats(Tensor values) => values.to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();

    private static int[] Ints(Tensor values) => values.to(ScalarType.Int32).cpu().contiguous().data<int>().ToArray();
}
