using System.Text;
using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Tests.Text;

public sealed class BpeTokenizerTests
{
    private const int A = 'a', B = 'b', C = 'c';

    private static readonly BpeTokenizer English = BpeTrainer.Train(
        ["The quick brown fox jumps over the lazy dog.", "It's the dog's dinner, isn't it? They'll see; we'd know."], 320);

    [Fact]
    public void WithoutMergesEveryByteIsItsOwnToken()
    {
        var tokenizer = new BpeTokenizer([]);

        var ids = tokenizer.Encode("hé!");

        Assert.Equal([0x68, 0xC3, 0xA9, 0x21], ids); // 'h', the two UTF-8 bytes of 'é', '!'
        Assert.Equal(BpeTokenizer.FirstMergeId, tokenizer.VocabularySize);
    }

    [Fact]
    public void TheEarlierLearntMergeWinsWhereTwoOverlap()
    {
        var abFirst = new BpeTokenizer([(A, B), (B, C)]);
        var bcFirst = new BpeTokenizer([(B, C), (A, B)]);

        Assert.Equal([257, C], abFirst.Encode("abc"));
        Assert.Equal([A, 257], bcFirst.Encode("abc"));
    }

    [Fact]
    public void ARepeatedPairMergesLeftToRight()
    {
        var tokenizer = new BpeTokenizer([(A, A), (257, A)]);

        Assert.Equal([257, 257], tokenizer.Encode("aaaa"));
        Assert.Equal([258], tokenizer.Encode("aaa"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("The quick brown fox jumps over the lazy dog.")]
    [InlineData("Ünïcödé — “quotes”, 日本語のテキスト, Ελληνικά, עברית")]
    [InlineData("emoji 😀👍🏽 👨‍👩‍👧 flags 🇩🇪")]
    [InlineData("control \u0000\u0001\a\b\t\r\n\u001b[31m\u007f end")]
    [InlineData("   leading and trailing spaces \n\n\t  ")]
    [InlineData("<|endoftext|> spelled out is plain text")]
    public void TextRoundTrips(string text)
    {
        var ids = English.Encode(text);

        Assert.Equal(text, English.Decode(ids));
        Assert.DoesNotContain(English.EndOfText, ids);
    }

    [Fact]
    public void RandomUnicodeRoundTrips()
    {
        var random = new Random(20240604);
        for (int trial = 0; trial < 300; trial++)
        {
            var text = RandomText(random, random.Next(0, 40));

            var decoded = English.Decode(English.Encode(text));

            Assert.Equal(text, decoded);
        }
    }

    [Fact]
    public void LearntMergesMakeTrainingTextShorterThanItsBytes()
    {
        var text = "The quick brown fox jumps over the lazy dog.";

        var ids = English.Encode(text);

        Assert.True(ids.Length < Encoding.UTF8.GetByteCount(text) / 2, $"{ids.Length} tokens for {text.Length} bytes");
    }

    [Fact]
    public void EntriesAreEachFollowedByEndOfText()
    {
        var tokenizer = new BpeTokenizer([(A, B)]);

        var ids = tokenizer.EncodeEntries(["ab", "c"]);

        Assert.Equal([257, BpeTokenizer.EndOfTextId, C, BpeTokenizer.EndOfTextId], ids);
        Assert.Equal(256, tokenizer.EndOfText);
        Assert.Equal("ab<|endoftext|>c<|endoftext|>", tokenizer.Decode(ids));
    }

    [Fact]
    public void DecodingAnIdOutsideTheVocabularyIsRefused()
    {
        var tokenizer = new BpeTokenizer([(A, B)]);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([A, 258]));

        Assert.Contains("0 to 257", error.Message);
    }

    [Fact]
    public void AMergeOfAnIdNotYetMadeIsRefused()
    {
        Assert.Throws<ArgumentException>(() => new BpeTokenizer([(A, 257)]));
        Assert.Throws<ArgumentException>(() => new BpeTokenizer([(A, BpeTokenizer.EndOfTextId)]));
        Assert.Throws<ArgumentException>(() => new BpeTokenizer([(A, B), (A, B)]));
    }

    [Fact]
    public void EncodingFromManyThreadsAtOnceGivesWhatOneThreadGives()
    {
        var texts = Enumerable.Range(0, 64).Select(i => $"text {i}: the lazy dog {i * 7919} jumps").ToArray();
        var expected = texts.Select(new BpeTokenizer(English.Merges).Encode).ToArray();
        var shared = new BpeTokenizer(English.Merges); // its cache starts empty, so threads race to fill it

        var actual = new int[texts.Length][];
        Parallel.For(0, texts.Length, i => actual[i] = shared.Encode(texts[i]));

        Assert.Equal(expected, actual);
    }

    private static string RandomText(Random random, int length)
    {
        var text = new StringBuilder();
        for (int i = 0; i < length; i++)
        {
            int codePoint = random.Next(5) switch
            {
                0 => random.Next(0, 0x80), // ASCII with control characters
                1 => random.Next(0x80, 0x800), // two UTF-8 bytes
                2 => random.Next(0x1F300, 0x1FAFF), // emoji, outside the BMP
                3 => " \n\t"[random.Next(3)],
                _ => random.Next(0, 0x110000),
            };
            if (codePoint is >= 0xD800 and <= 0xDFFF) codePoint = 0xFFFD; // a lone surrogate is not text
            text.Append(char.ConvertFromUtf32(codePoint));
        }
        return text.ToString();
    }
}
