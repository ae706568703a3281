using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// A loaded language model: the decoder (in eval mode), its tokenizer, its special tokens, the
/// version of the checkpoint it came from, and what Describe reports of it. The decoder may score
/// more tokens than the tokenizer has (a vocabulary padded for speed); only the tokenizer's are real.
/// </summary>
public sealed record LanguageModel(CausalLanguageModel Model, ITokenizer Tokenizer, SpecialTokens Special, string Version, LanguageModelFacts Facts) : IDisposable
{
    /// <summary>Tokens the tokenizer knows: the distributions are over these.</summary>
    public int VocabularySize => Tokenizer.VocabularySize;

    /// <summary>Longest sequence the model reads.</summary>
    public int ContextLength => Model.ContextLength;

    /// <summary>The ids a prompt is continued from: its encoding, as Hugging Face gives it (with the bos a tokenizer adds).</summary>
    public int[] Prompt(string text) => Tokenizer.Encode(text);

    /// <summary>The ids of every entry, each followed by the main end-of-sequence id (see <see cref="SpecialTokens.EncodeEntries"/>).</summary>
    public int[] EncodeEntries(IEnumerable<string> entries) => Special.EncodeEntries(Tokenizer, entries);

    public void Dispose()
    {
        Model.Dispose();
        (Tokenizer as IDisposable)?.Dispose();
    }
}

/// <summary>What Describe reports of a language model beyond its sizes.</summary>
/// <param name="ParameterCount">Trainable values; a tied head counted once.</param>
/// <param name="WeightDType">The dtype the weights were saved in (float32, bfloat16, float16).</param>
/// <param name="ComputeDType">The dtype the model computes in here.</param>
public sealed record LanguageModelFacts(long ParameterCount, string WeightDType, string ComputeDType);
