namespace TeacherStudent.Distillation.Text;

/// <summary>
/// Text to token ids and back, as a language model was trained to read it: a model's Hugging Face
/// <c>tokenizer.json</c> (<see cref="HuggingFaceTokenizer"/>) or the project's own byte-level BPE
/// (<see cref="BpeTokenizer"/>).
/// </summary>
public interface ITokenizer
{
    /// <summary>Number of ids the tokenizer gives: every distribution served is over these.</summary>
    int VocabularySize { get; }

    /// <summary>A digest of what the ids mean, equal for two tokenizers that give the same ids to the same tokens.</summary>
    string Digest { get; }

    /// <summary>The ids of <paramref name="text"/>.</summary>
    int[] Encode(string text);

    /// <summary>The text of <paramref name="ids"/>.</summary>
    string Decode(ReadOnlySpan<int> ids);
}
