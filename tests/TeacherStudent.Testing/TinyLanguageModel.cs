using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using static TorchSharp.torch;

namespace TeacherStudent.Testing;

/// <summary>
/// A tiny untrained language model written as a Hugging Face model directory, as train-lm writes
/// one: a BPE tokenizer trained on the first fortunes of the train split (tokenizer.json,
/// tokenizer_config.json), a small Llama with random weights, config.json, model.safetensors and
/// generation_config.json. For tests that serve a language model or train against one.
/// </summary>
public static class TinyLanguageModel
{
    /// <summary>Writes the model into <paramref name="directory"/> and returns the directory.</summary>
    /// <param name="fortunes">Fortunes the tokenizer is trained on.</param>
    /// <param name="vocabularySize">Tokens of the tokenizer.</param>
    /// <param name="paddedVocabulary">Rows of the model's output, at least <paramref name="vocabularySize"/> (0 = the same).</param>
    /// <param name="seed">Seeds torch's global generator for the weights; null leaves it as it is.</param>
    /// <param name="texts">Texts to train the tokenizer on instead of fortunes.</param>
    public static string Write(string directory, int fortunes = 200, int vocabularySize = 350, int paddedVocabulary = 0, int contextLength = 16,
        int layers = 1, int width = 16, int heads = 2, long? seed = 1, IEnumerable<string>? texts = null)
    {
        var trained = BpeTrainer.Train(texts ?? FortunesCorpus.Load().Train.Take(fortunes), vocabularySize);
        trained.Save(directory);
        using var tokenizer = HuggingFaceTokenizer.Load(directory);
        var special = SpecialTokens.Of(directory, tokenizer);
        var config = LlamaConfig.Small(Math.Max(paddedVocabulary, trained.VocabularySize), contextLength, layers, width, heads);
        if (seed is { } s) manual_seed(s);
        // Larger than a fresh model's 0.02, so that the distributions are far from uniform and differences show.
        using var model = new Llama(config).InitialiseRandomly(0.2);
        HuggingFaceCheckpoint.Save(directory, model, directory, special);
        return directory;
    }
}
