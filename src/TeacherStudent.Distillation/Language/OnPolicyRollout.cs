using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// Sequences whose last tokens were generated: a prompt of <see cref="PromptLength"/> corpus tokens,
/// then up to <c>Length - PromptLength</c> sampled ones (<see cref="Generated"/> per sequence; a
/// continuation that produced the end-of-text token stops there, and the positions after
/// it hold end-of-text as padding). Row-major <see cref="Tokens"/> [Sequences * Length].
/// </summary>
/// <param name="TeacherDraws">Generated tokens that were drawn from the teacher rather than the student.</param>
/// <param name="TeacherVersions">Teacher versions that made those draws, in the order they first answered.</param>
public sealed record Rollout(int[] Tokens, int Sequences, int Length, int PromptLength, int[] Generated, int TeacherDraws, IReadOnlyList<string> TeacherVersions)
{
    /// <summary>Tokens generated in all.</summary>
    public int GeneratedTokens => Generated.Sum();

    /// <summary>The model's input: every sequence without its last token, [Sequences * (Length - 1)].</summary>
    public int[] Inputs()
    {
        var inputs = new int[Sequences * (Length - 1)];
        for (int s = 0; s < Sequences; s++) Tokens.AsSpan(s * Length, Length - 1).CopyTo(inputs.AsSpan(s * (Length - 1)));
        return inputs;
    }

    /// <summary>
    /// A weight per input position [Sequences * (Length - 1)]: non-zero only where the next token was
    /// generated (position j predicts token j + 1), so a divergence is taken on the student's own
    /// samples only. 1 there, so the weighted mean is over all generated tokens of the batch; with
    /// <paramref name="lengthNormalised"/>, 1 / (tokens generated in that sequence), so it is the mean
    /// over sequences of each sequence's mean.
    /// </summary>
    public float[] GeneratedPositionWeights(bool lengthNormalised)
    {
        int inputLength = Length - 1;
        var weights = new float[Sequences * inputLength];
        for (int s = 0; s < Sequences; s++)
        {
            float weight = lengthNormalised ? 1f / Generated[s] : 1f;
            for (int g = 0; g < Generated[s]; g++) weights[s * inputLength + PromptLength - 1 + g] = weight;
        }
        return weights;
    }
}

/// <summary>
/// The sampling half of on-policy distillation (GKD, Agarwal et al. 2024; MiniLLM, Gu et al. 2024):
/// the student continues prompts from the corpus, one token at a time. With teacher-mixed sampling
/// (MiniLLM), each generated token comes from the teacher's distribution with probability
/// <paramref name="teacherMixing"/> and from the student's otherwise, i.e. from the mixture
/// <c>mixing * p + (1 - mixing) * q</c>; a teacher draw is one sampled target (k = 1, T = 1) at the
/// last position of the current prefix, asked of the teacher for just the sequences whose coin fell
/// that way. Both draw at temperature 1 from the full distribution. Everything random is seeded.
/// The student reads each token once: its keys and values stay in a <see cref="KeyValueCache"/> for the
/// whole rollout, and a step reads only the tokens written since the student last read (the prompts
/// first; after steps every sequence sent to the teacher, the tokens the teacher drew).
/// </summary>
public sealed class OnPolicyRollout(ISequenceTargetSource? teacher, double teacherMixing, int vocabularySize, int endOfText)
{
    /// <summary>
    /// Continues the <paramref name="sequences"/> prompts of <paramref name="promptLength"/> tokens
    /// (<paramref name="prompts"/>, row-major) by up to <paramref name="newTokens"/> tokens each.
    /// The student runs in eval mode without gradients (training mode is restored); no dispose scope
    /// is open across an await.
    /// </summary>
    public async Task<Rollout> RunAsync(CausalLanguageModel student, int[] prompts, int sequences, int promptLength, int newTokens, long seed,
        CancellationToken cancellationToken)
    {
        if (prompts.Length != sequences * promptLength) throw new ArgumentException($"{prompts.Length} prompt tokens do not make {sequences} prompts of {promptLength}.");
        if (promptLength < 1) throw new ArgumentException("a prompt needs at least one token.");
        if (promptLength + newTokens - 1 > student.ContextLength)
            throw new ArgumentException($"prompts of {promptLength} and {newTokens} new tokens do not fit the student's context of {student.ContextLength}.");
        if (teacherMixing > 0 && teacher is null) throw new ArgumentException("teacher-mixed sampling needs a teacher.");

        int length = promptLength + newTokens;
        var tokens = new int[sequences * length];
        Array.Fill(tokens, endOfText);  // the padding after a continuation that ended
        for (int s = 0; s < sequences; s++) prompts.AsSpan(s * promptLength, promptLength).CopyTo(tokens.AsSpan(s * length));
        var generated = new int[sequences];
        var ended = new bool[sequences];
        var versions = new List<string>();
        int teacherDraws = 0;

        var coins = new Random(unchecked((int)seed));
        using var generator = new Generator(unchecked((ulong)seed));
        using var cache = student.NewCache(sequences, length - 1); // the last token is never read
        bool wasTraining = student.training;
        student.eval();
        try
        {
            for (int t = 0; t < newTokens; t++)
            {
                int prefix = promptLength + t;
                var active = Enumerable.Range(0, sequences).Where(s => !ended[s]).ToArray();
                if (active.Length == 0) break;
                // One coin per active sequence, always drawn, so that the draws do not depend on who answers.
                var fromTeacher = active.Where(_ => coins.NextDouble() < teacherMixing).ToArray();
                var fromStudent = active.Except(fromTeacher).ToArray();

                var next = new Dictionary<int, int>(active.Length);
                if (fromStudent.Length > 0)
                {
                    var drawn = StudentNext(student, cache, tokens, length, fromStudent, prefix, generator);
                    for (int i = 0; i < fromStudent.Length; i++) next[fromStudent[i]] = drawn[i];
                }
                if (fromTeacher.Length > 0)
                {
                    var draws = await TeacherNextAsync(tokens, length, fromTeacher, prefix, unchecked(seed * 1_000_003 + t), cancellationToken);
                    if (!versions.Contains(draws.Version)) versions.Add(draws.Version);
                    for (int i = 0; i < fromTeacher.Length; i++) next[fromTeacher[i]] = draws.Tokens[i];
                    teacherDraws += fromTeacher.Length;
                }
                foreach (var (s, token) in next)
                {
                    tokens[s * length + prefix] = token;
                    generated[s]++;
                    if (token == endOfText) ended[s] = true;
                }
            }
        }
        finally
        {
            student.train(wasTraining);
        }
        return new Rollout(tokens, sequences, length, promptLength, generated, teacherDraws, versions);
    }

    /// <summary>
    /// The student's draw for the next token of each of <paramref name="rows"/>, whose first <paramref name="prefix"/>
    /// tokens are set. Every sequence's tokens from the cache's length to the prefix are read into the cache (an
    /// ended sequence's padding too, so that all rows stay the same length); only the rows asked for are drawn.
    /// </summary>
    private int[] StudentNext(CausalLanguageModel student, KeyValueCache cache, int[] tokens, int length, int[] rows, int prefix, Generator generator)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var device = student.parameters().First().device;
        int sequences = (int)cache.Batch, from = (int)cache.Length, count = prefix - from;
        var unread = new long[sequences * count];
        for (int s = 0; s < sequences; s++)
            for (int j = 0; j < count; j++) unread[s * count + j] = tokens[s * length + from + j];
        var input = tensor(unread, [sequences, count], device: device);
        var positions = arange(from, prefix, ScalarType.Int64, device).expand(sequences, count);
        // Token j of the new ones (at from + j) sees every column up to its own.
        var mask = arange(prefix, ScalarType.Int64, device).unsqueeze(0).le(arange(from, prefix, ScalarType.Int64, device).unsqueeze(1)).view(1, 1, count, prefix);
        var logits = student.NextTokenLogits(input, positions, cache, mask).narrow(-1, 0, vocabularySize);
        var asked = logits.index_select(0, tensor(rows.Select(r => (long)r).ToArray(), device: device));
        return TokenSampler.Next(asked.cpu(), 1, 1, generator).to(ScalarType.Int32).data<int>().ToArray();
    }

    /// <summary>The teacher's draw for the next token of each of <paramref name="rows"/>: one sampled target at the last position.</summary>
    private async Task<(int[] Tokens, string Version)> TeacherNextAsync(int[] tokens, int length, int[] rows, int prefix, long seed,
        CancellationToken cancellationToken)
    {
        var settings = new SequenceTargetSettings(1f, 1, SparseTargetKind.Sampled, seed);
        var batch = await teacher!.GetAsync(Prefixes(tokens, length, rows, prefix), rows.Length, prefix, settings, cancellationToken);
        if (batch.Ids is null || batch.Settings.K != 1) throw new InvalidOperationException("the teacher did not answer with one sampled token per position.");
        var drawn = new int[rows.Length];
        for (int i = 0; i < rows.Length; i++) drawn[i] = batch.Ids[i * prefix + prefix - 1];
        return (drawn, batch.TeacherVersion);
    }

    private static int[] Prefixes(int[] tokens, int length, int[] rows, int prefix)
    {
        var prefixes = new int[rows.Length * prefix];
        for (int i = 0; i < rows.Length; i++) tokens.AsSpan(rows[i] * length, prefix).CopyTo(prefixes.AsSpan(i * prefix));
        return prefixes;
    }
}
