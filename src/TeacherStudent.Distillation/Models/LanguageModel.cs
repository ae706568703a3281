using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// A loaded language model: the decoder (in eval mode), its tokenizer, its special tokens, the
/// version of the checkpoint it came from, and what Describe reports of it. The decoder may score
/// more tokens than the tokenizer has (a vocabulary padded for speed); only the tokenizer's are real.
/// </summary>
public sealed record LanguageModel(CausalLanguageModel Model, ITokenizer Tokenizer, SpecialTokens Special, string Version, LanguageModelFacts Facts) : IDisposable
{
    /// <summary>One of the project's own models: a <see cref="Gpt"/> with its byte-level BPE, in float32.</summary>
    public static LanguageModel OfProject(Gpt model, BpeTokenizer tokenizer, string version) =>
        new(model, tokenizer, SpecialTokens.ProjectBpe, version, new LanguageModelFacts(model.ParameterCount(), "float32", "float32"));

    /// <summary>Tokens the tokenizer knows: the distributions are over these.</summary>
    public int VocabularySize => Tokenizer.VocabularySize;

    /// <summary>Longest sequence the model reads.</summary>
    public int ContextLength => Model.ContextLength;

    /// <summary>The ids a prompt is continued from: <see cref="SpecialTokens.PromptPrefix"/>, then the prompt's own.</summary>
    public int[] Prompt(string text) => [.. Special.PromptPrefix, .. Tokenizer.Encode(text)];

    /// <summary>The ids of every entry, each followed by the main end-of-sequence id: texts as one stream, as a language model is trained on them.</summary>
    public int[] EncodeEntries(IEnumerable<string> entries)
    {
        var end = Special.EndOfSequence.Count > 0 ? Special.EndOfSequence[0]
            : throw new InvalidOperationException("the model has no end-of-sequence token to separate texts with.");
        var ids = new List<int>();
        foreach (var entry in entries)
        {
            ids.AddRange(Tokenizer.Encode(entry));
            ids.Add(end);
        }
        return [.. ids];
    }

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
