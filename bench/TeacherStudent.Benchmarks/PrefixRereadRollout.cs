using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using static TorchSharp.torch;

namespace TeacherStudent.Benchmarks;

/// <summary>
/// The reference the on-policy rollout's key-value cache is measured against: the student draws its
/// next tokens by reading each sequence's whole prefix again for every token, as the rollout did
/// before it kept a cache. The same sequences and sampling (temperature 1, full distribution).
/// </summary>
public static class PrefixRereadRollout
{
    /// <summary>Continues <paramref name="sequences"/> prompts by up to <paramref name="newTokens"/> tokens; returns the tokens written.</summary>
    public static int Run(CausalLanguageModel student, int[] prompts, int sequences, int promptLength, int newTokens, int vocabularySize,
        int endOfText, long seed)
    {
        int length = promptLength + newTokens;
        var tokens = new long[sequences * length];
        Array.Fill(tokens, endOfText);
        for (int s = 0; s < sequences; s++)
            for (int j = 0; j < promptLength; j++) tokens[s * length + j] = prompts[s * promptLength + j];
        var ended = new bool[sequences];
        int written = 0;
        using var generator = new Generator(unchecked((ulong)seed));
        using var noGrad = no_grad();
        student.eval();
        for (int t = 0; t < newTokens; t++)
        {
            int prefix = promptLength + t;
            var active = Enumerable.Range(0, sequences).Where(s => !ended[s]).ToArray();
            if (active.Length == 0) break;
            using var scope = NewDisposeScope();
            var rows = new long[active.Length * prefix];
            for (int i = 0; i < active.Length; i++) Array.Copy(tokens, active[i] * length, rows, i * prefix, prefix);
            var logits = student.forward(tensor(rows, [active.Length, prefix])).select(1, -1).narrow(-1, 0, vocabularySize);
            var drawn = TokenSampler.Next(logits, 1, 1, generator).to(ScalarType.Int64).data<long>().ToArray();
            for (int i = 0; i < active.Length; i++)
            {
                tokens[active[i] * length + prefix] = drawn[i];
                written++;
                if (drawn[i] == endOfText) ended[active[i]] = true;
            }
        }
        return written;
    }
}
