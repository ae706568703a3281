using System.Diagnostics;
using System.Text;
using TeacherStudent.Distillation.Text;
using Xunit.Abstractions;

namespace TeacherStudent.Distillation.Tests.Text;

/// <summary>A tokenizer trained on the train split of the real fortunes corpus.</summary>
public sealed class RealFortunesTokenizerTests(ITestOutputHelper output)
{
    [Fact]
    public void TheTrainedVocabularyHasTheSizeAsked()
    {
        var stopwatch = Stopwatch.StartNew();
        var tokenizer = RealFortunes.Tokenizer; // trained here or by an earlier test

        output.WriteLine($"vocabulary {tokenizer.VocabularySize}, digest {tokenizer.Digest}, ready in {stopwatch.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(RealFortunes.VocabularySize, tokenizer.VocabularySize);
    }

    [Fact]
    public void TheValidationSplitTakesWellOverTwoBytesPerToken()
    {
        var validation = RealFortunes.Corpus.Validation;
        var tokenizer = RealFortunes.Tokenizer;

        var tokens = tokenizer.EncodeEntries(validation).Count(id => id != tokenizer.EndOfText);

        long bytes = validation.Sum(e => (long)Encoding.UTF8.GetByteCount(e));
        double bytesPerToken = (double)bytes / tokens;
        output.WriteLine($"{bytes:N0} bytes in {tokens:N0} tokens: {bytesPerToken:F2} bytes per token");
        Assert.True(bytesPerToken > 2.4, $"only {bytesPerToken:F2} bytes per token");
    }

    [Fact]
    public void EveryValidationEntryRoundTrips()
    {
        var tokenizer = RealFortunes.Tokenizer;

        Assert.All(RealFortunes.Corpus.Validation, entry => Assert.Equal(entry, tokenizer.Decode(tokenizer.Encode(entry))));
    }

    [Fact]
    public void TheFirstMergesAreCommonEnglishPieces()
    {
        var tokenizer = RealFortunes.Tokenizer;

        var first = Enumerable.Range(BpeTokenizer.FirstMergeId, 10).Select(id => tokenizer.Decode([id])).ToList();

        Assert.Contains(" t", first);
        Assert.Contains("he", first);
        Assert.Contains(" the", first);
    }
}
