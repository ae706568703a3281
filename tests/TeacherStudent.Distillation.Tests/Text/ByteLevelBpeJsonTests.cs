using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Tests.Text;

/// <summary>
/// The project's trained tokenizer written as a Hugging Face tokenizer.json and read back by Hugging
/// Face's own tokenizers library (<see cref="HuggingFaceTokenizer"/>): the same ids for the same text.
/// </summary>
public sealed class ByteLevelBpeJsonTests : IDisposable
{
    private readonly TemporaryDirectory directory = new();

    [Fact]
    public void HuggingFaceTokenizersGiveTheTrainedTokenizersIdsForRealAndOddText()
    {
        var trained = RealFortunes.Tokenizer;
        var path = directory.File("tokenizer.json");

        ByteLevelBpeJson.Write(path, trained);
        using var loaded = HuggingFaceTokenizer.Load(path);

        Assert.Equal(trained.VocabularySize, loaded.VocabularySize);
        // Text that spells <|endoftext|> is the one difference, and meant: Hugging Face reads the marker as the special token.
        var texts = RealFortunes.Corpus.Validation.Concat(TokenizerTexts.Varied).Where(t => !t.Contains(BpeTokenizer.EndOfTextMarker)).ToArray();
        foreach (var text in texts)
        {
            // The tokenizer puts <|endoftext|> before a text, as the models read texts after one.
            Assert.Equal([BpeTokenizer.EndOfTextId, .. trained.Encode(text)], loaded.Encode(text));
            Assert.Equal(BpeTokenizer.EndOfTextMarker + text.Normalize(), loaded.Decode(loaded.Encode(text)).Normalize());
        }
        Assert.True(texts.Length > 200, $"only {texts.Length} texts compared");
    }

    [Fact]
    public void TheEndOfTextMarkerIsTheSpecialId256()
    {
        var path = directory.File("small.json");
        ByteLevelBpeJson.Write(path, BpeTrainer.Train(["the cat sat on the mat", "the dog sat on the log"], vocabularySize: 270));
        using var loaded = HuggingFaceTokenizer.Load(path);

        Assert.Equal([BpeTokenizer.EndOfTextId, BpeTokenizer.EndOfTextId], loaded.Encode(BpeTokenizer.EndOfTextMarker));
        Assert.Equal([BpeTokenizer.EndOfTextId], loaded.Encode(""));
        Assert.Contains(loaded.Vocabulary.AddedTokens, t => t is { Id: BpeTokenizer.EndOfTextId, Special: true });
        Assert.Equal("Ġ", ByteLevelBpeJson.Spell(" "u8));
        Assert.Equal("Ċ", ByteLevelBpeJson.Spell("\n"u8));
    }

    [Fact]
    public void NoTwoTrainedTokensSpellTheSameBytes()
    {
        var trained = RealFortunes.Tokenizer;

        var spellings = Enumerable.Range(0, trained.VocabularySize).Select(id => Convert.ToHexString(trained.BytesOf(id))).ToArray();

        Assert.Equal(spellings.Length, spellings.Distinct().Count());
    }

    public void Dispose() => directory.Dispose();
}
