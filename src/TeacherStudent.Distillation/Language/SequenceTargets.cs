using System.Buffers.Binary;
using System.Security.Cryptography;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// A language-model teacher's soft targets for token sequences, computed in process: at every
/// position, log_softmax(logits / T) over the tokenizer's vocabulary (a model whose output is
/// padded past it is cut back to it first), kept whole or for k tokens per position.
/// The teacher service and a student with an in-process teacher both compute them here, for the
/// sequences of one request (<see cref="Compute"/>) or of many requests in shared forwards
/// (<see cref="ComputeMany"/>).
/// </summary>
public static class SequenceTargets
{
    /// <summary>
    /// Most logits <see cref="ComputeMany"/> holds at once by default (float32 elements: 256 MB): the head runs over a
    /// batch's sequences a few at a time when their logits would be more (a single sequence always runs whole).
    /// </summary>
    public const long DefaultMaxLogits = 1L << 26;

    /// <summary>
    /// Dense log-probabilities [B * L, V] of <paramref name="tokens"/> [B, L] (int64, on the model's
    /// device), V the tokenizer's vocabulary. Call inside a dispose scope.
    /// </summary>
    public static Tensor LogProbs(LanguageModel teacher, Tensor tokens, float temperature)
    {
        return LogProbs(teacher, tokens, null, temperature).reshape(-1, teacher.VocabularySize);
    }

    /// <summary>
    /// The targets of <paramref name="tokens"/> ([sequences * length] ids, row-major) as asked by
    /// <paramref name="settings"/>, copied out of torch: one forward.
    /// </summary>
    /// <exception cref="ArgumentException">a token id outside the vocabulary, a sequence longer than the model's context, or settings out of range.</exception>
    public static SequenceTargetBatch Compute(LanguageModel teacher, ReadOnlySpan<int> tokens, int sequences, int length, SequenceTargetSettings settings)
    {
        if (sequences < 1 || length < 1 || tokens.Length != sequences * length)
            throw new ArgumentException($"{tokens.Length} token ids do not make {sequences} sequences of {length}.");
        var all = tokens.ToArray();
        var each = new SequenceToScore[sequences];
        for (int s = 0; s < sequences; s++) each[s] = new SequenceToScore(all.AsMemory(s * length, length), settings);
        return SequenceTargetBatch.Join(ComputeMany(teacher, each));
    }

    /// <summary>
    /// The targets of every sequence, each as its own settings ask (temperatures, k and kinds may
    /// differ), in as few forwards as <paramref name="packing"/> allows: one per length
    /// (<see cref="SequencePacking.Bucketing"/>) or one for all (<see cref="SequencePacking.Padding"/>).
    /// Each result is a batch of one sequence, equal (within float rounding of the larger matrix
    /// products) to what <see cref="Compute"/> gives for that sequence alone; sampled ids are drawn
    /// per sequence from <see cref="SeedFor"/>, so they do not depend on the other sequences.
    /// Synchronous, on the calling thread (its dispose scope).
    /// </summary>
    /// <exception cref="ArgumentException">a token id outside the vocabulary, a sequence empty or longer than the model's context, or settings out of range.</exception>
    /// <param name="maxLogits">Most logits held at once (see <see cref="DefaultMaxLogits"/>); the results do not depend on it.</param>
    public static SequenceTargetBatch[] ComputeMany(LanguageModel teacher, IReadOnlyList<SequenceToScore> sequences,
        SequencePacking packing = SequencePacking.Bucketing, long maxLogits = DefaultMaxLogits)
    {
        foreach (var sequence in sequences)
        {
            CheckTokens(teacher, sequence.Tokens.Span);
            sequence.Settings.Validate(teacher.VocabularySize);
        }
        var results = new SequenceTargetBatch[sequences.Count];
        var groups = packing == SequencePacking.Padding
            ? [Enumerable.Range(0, sequences.Count).ToArray()]
            : Enumerable.Range(0, sequences.Count).GroupBy(i => sequences[i].Length).Select(g => g.ToArray()).ToArray();
        foreach (var group in groups)
            if (group.Length > 0) ComputeGroup(teacher, sequences, group, maxLogits, results);
        return results;
    }

    /// <summary>The seed of one sequence's draws: fixed by the request's seed and the sequence's tokens.</summary>
    public static ulong SeedFor(long seed, ReadOnlySpan<int> sequence)
    {
        var bytes = new byte[8 + sequence.Length * 4];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, seed);
        for (int i = 0; i < sequence.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8 + 4 * i), sequence[i]);
        return BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(bytes));
    }

    // log_softmax(logits / T) [B, L, V] of int64 tokens [B, L]: T one scalar, or one per sequence ([B, 1, 1]).
    private static Tensor LogProbs(LanguageModel teacher, Tensor tokens, Tensor? temperatures, float temperature)
    {
        using var _ = no_grad();
        return LogProbsOfLogits(teacher, teacher.Model.forward(tokens), temperatures, temperature);
    }

    private static Tensor LogProbsOfLogits(LanguageModel teacher, Tensor logits, Tensor? temperatures, float temperature)
    {
        var vocabulary = teacher.VocabularySize;
        // A vocabulary padded past the tokenizer's (to a multiple of 64, say) scores tokens that
        // never occur: they are no part of the distribution a student learns.
        if (logits.shape[2] > vocabulary) logits = logits.narrow(2, 0, vocabulary);
        // A model computing in bfloat16 or float16 gives logits in it; the distribution is taken in float32, as
        // transformers' generate() does, so that log-probabilities are not rounded to 8 (or 11) bits on top.
        if (logits.dtype != ScalarType.Float32) logits = logits.to_type(ScalarType.Float32);
        return temperatures is null
            ? SoftTargets.LogProbabilities(logits, temperature)
            : SoftTargets.LogProbabilities(logits, temperatures);
    }

    // One forward for the sequences at `group`, right-padded to the longest (no padding when they are
    // of one length); each sequence's rows are then cut back out, by kind of target, in one operation per kind.
    private static void ComputeGroup(LanguageModel teacher, IReadOnlyList<SequenceToScore> sequences, int[] group, long maxLogits, SequenceTargetBatch[] results)
    {
        var device = teacher.Model.parameters().First().device;
        var vocabulary = teacher.VocabularySize;
        var longest = group.Max(i => sequences[i].Length);
        var ids = new long[group.Length * longest]; // padding: id 0, whose rows are dropped
        var temperatures = new float[group.Length];
        for (int b = 0; b < group.Length; b++)
        {
            var tokens = sequences[group[b]].Tokens.Span;
            for (int j = 0; j < tokens.Length; j++) ids[b * longest + j] = tokens[j];
            temperatures[b] = sequences[group[b]].Settings.Temperature;
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = tensor(ids, [group.Length, longest], device: device);
        // The body runs over the whole group at once; the head, the log-softmax and the targets over a few
        // sequences at a time, so that the logits held at once stay under maxLogits however many
        // tokens the batch has (Qwen's 152k vocabulary at 4096 tokens would be 2.5 GB, and its log-softmax as much again).
        var hidden = teacher.Model.HiddenStates(input);
        int each = (int)Math.Clamp(maxLogits / ((long)longest * teacher.Model.VocabularySize), 1, group.Length);
        for (int start = 0; start < group.Length; start += each)
        {
            using var chunkScope = NewDisposeScope();
            int count = Math.Min(each, group.Length - start);
            var chunk = group[start..(start + count)];
            var chunkTemperatures = temperatures[start..(start + count)];
            var oneTemperature = chunkTemperatures.All(t => t == chunkTemperatures[0]);
            var perSequence = oneTemperature ? null : tensor(chunkTemperatures, [count, 1, 1], device: device);
            var logits = teacher.Model.Logits(count == group.Length ? hidden : hidden.narrow(0, start, count));
            var logProbs = LogProbsOfLogits(teacher, logits, perSequence, chunkTemperatures[0]).reshape(-1, vocabulary); // [count * longest, V]

            // Sequences asking for the same shape of targets are answered together.
            foreach (var same in Enumerable.Range(0, count).GroupBy(b => (sequences[chunk[b]].Settings.K, sequences[chunk[b]].Settings.Kind)))
            {
                var members = same.ToArray();
                var rows = Rows(logProbs, members, chunk, sequences, longest, device);
                var (k, kind) = same.Key;
                if (k == 0) Dense(teacher, sequences, chunk, members, rows, results);
                else if (kind == SparseTargetKind.TopK) TopK(teacher, sequences, chunk, members, rows, k, results);
                else Sampled(teacher, sequences, chunk, members, rows, k, results);
            }
        }
    }

    // The rows [sum of lengths, V] of `members`' real positions, in member order: all of them, when no row is padding.
    private static Tensor Rows(Tensor logProbs, int[] members, int[] group, IReadOnlyList<SequenceToScore> sequences, int longest, Device device)
    {
        if (members.Length == group.Length && members.All(b => sequences[group[b]].Length == longest)) return logProbs;
        var index = new List<long>();
        foreach (var b in members)
            for (int j = 0; j < sequences[group[b]].Length; j++) index.Add((long)b * longest + j);
        return logProbs.index_select(0, tensor(index.ToArray(), device: device));
    }

    private static void Dense(LanguageModel teacher, IReadOnlyList<SequenceToScore> sequences, int[] group, int[] members, Tensor rows,
        SequenceTargetBatch[] results)
    {
        var vocabulary = teacher.VocabularySize;
        var values = Floats(rows);
        var offset = 0;
        foreach (var b in members)
        {
            var sequence = sequences[group[b]];
            var count = sequence.Length * vocabulary;
            results[group[b]] = new SequenceTargetBatch(1, sequence.Length, vocabulary, sequence.Settings, values.AsSpan(offset, count).ToArray(),
                null, null, teacher.Version);
            offset += count;
        }
    }

    // One top-k over every row of every member.
    private static void TopK(LanguageModel teacher, IReadOnlyList<SequenceToScore> sequences, int[] group, int[] members, Tensor rows, int k,
        SequenceTargetBatch[] results)
    {
        var top = SparseTargets.TopK(rows, k);
        var (ids, values, tails) = (Ints(top.Ids), Floats(top.LogProbs), Floats(top.TailLogMass!));
        var position = 0;
        foreach (var b in members)
        {
            var sequence = sequences[group[b]];
            var length = sequence.Length;
            results[group[b]] = new SequenceTargetBatch(1, length, teacher.VocabularySize, sequence.Settings,
                values.AsSpan(position * k, length * k).ToArray(), ids.AsSpan(position * k, length * k).ToArray(),
                tails.AsSpan(position, length).ToArray(), teacher.Version);
            position += length;
        }
    }

    // Each sequence's draws come from a generator of its own, seeded by its request's seed and its
    // tokens, on the CPU: the same sequence gets the same draws in any batch, on any device, so a cache
    // can keep them per sequence. Only the draws are per sequence; the probabilities and the gather of
    // the drawn log-probabilities are one operation each for all.
    private static void Sampled(LanguageModel teacher, IReadOnlyList<SequenceToScore> sequences, int[] group, int[] members, Tensor rows, int k,
        SequenceTargetBatch[] results)
    {
        var (ids, values) = Draw(rows, members.Select(b => sequences[group[b]]).ToArray(), k);
        var position = 0;
        foreach (var b in members)
        {
            var sequence = sequences[group[b]];
            var count = sequence.Length * k;
            results[group[b]] = new SequenceTargetBatch(1, sequence.Length, teacher.VocabularySize, sequence.Settings,
                values.AsSpan(position, count).ToArray(), ids.AsSpan(position, count).ToArray(), null, teacher.Version);
            position += count;
        }
    }

    // k draws per row of `rows` [sum of lengths, V] (log-probabilities), each sequence's from its own generator; the ids and their log-probabilities.
    private static (int[] Ids, float[] Values) Draw(Tensor rows, IReadOnlyList<SequenceToScore> sequences, int k)
    {
        var cpu = rows.cpu();
        var probabilities = cpu.exp();
        var drawn = new Tensor[sequences.Count];
        var position = 0;
        for (int m = 0; m < sequences.Count; m++)
        {
            var sequence = sequences[m];
            using var generator = new Generator(SeedFor(sequence.Settings.Seed, sequence.Tokens.Span));
            drawn[m] = probabilities.narrow(0, position, sequence.Length).multinomial(k, replacement: true, generator: generator);
            position += sequence.Length;
        }
        var allIds = cat(drawn, 0);
        return (Ints(allIds), Floats(cpu.gather(-1, allIds)));
    }

    /// <summary>
    /// The targets <paramref name="settings"/> ask for, taken from dense log-probabilities <paramref name="logProbs"/>
    /// [sequences * length, V] at the settings' temperature (an ensemble's, combined from its members'): as they are,
    /// the top k with the tail's mass, or k draws made exactly as a teacher's own are (<see cref="SeedFor"/>), so the
    /// same sequence gets the same draws. Call inside a dispose scope.
    /// </summary>
    public static SequenceTargetBatch FromDense(Tensor logProbs, ReadOnlyMemory<int> tokens, int sequences, int length, SequenceTargetSettings settings,
        string version)
    {
        var vocabulary = (int)logProbs.shape[1];
        if (logProbs.shape[0] != (long)sequences * length || tokens.Length != sequences * length)
            throw new ArgumentException($"{logProbs.shape[0]} rows and {tokens.Length} token ids do not make {sequences} sequences of {length}.");
        if (settings.Dense) return new SequenceTargetBatch(sequences, length, vocabulary, settings, Floats(logProbs), null, null, version);
        if (settings.Kind == SparseTargetKind.TopK)
        {
            var top = SparseTargets.TopK(logProbs, settings.K);
            return new SequenceTargetBatch(sequences, length, vocabulary, settings, Floats(top.LogProbs), Ints(top.Ids), Floats(top.TailLogMass!), version);
        }
        var each = Enumerable.Range(0, sequences).Select(s => new SequenceToScore(tokens.Slice(s * length, length), settings)).ToArray();
        var (ids, values) = Draw(logProbs, each, settings.K);
        return new SequenceTargetBatch(sequences, length, vocabulary, settings, values, ids, null, version);
    }

    private static void CheckTokens(LanguageModel teacher, ReadOnlySpan<int> tokens)
    {
        if (tokens.Length < 1) throw new ArgumentException("a sequence needs at least one token.");
        if (tokens.Length > teacher.ContextLength)
            throw new ArgumentException($"sequences of {tokens.Length} tokens are longer than the teacher's context of {teacher.ContextLength}.");
        var vocabulary = teacher.VocabularySize;
        for (int i = 0; i < tokens.Length; i++)
            if ((uint)tokens[i] >= (uint)vocabulary)
                throw new ArgumentException($"token id {tokens[i]} (position {i}) is outside the vocabulary of {vocabulary}.");
    }

    private static float[] Floats(Tensor values) => values.to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();

    private static int[] Ints(Tensor values) => values.to(ScalarType.Int32).cpu().contiguous().data<int>().ToArray();
}
