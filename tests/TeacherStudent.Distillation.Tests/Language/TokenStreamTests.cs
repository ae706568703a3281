using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Tests.Language;

/// <summary>Training and evaluation windows over a stream of tokens.</summary>
public sealed class TokenStreamTests
{
    private static readonly TokenStream Counting = new(Enumerable.Range(0, 1000).ToArray());

    [Fact]
    public void RandomWindowsAreRunsOfConsecutiveTokensAndTheSameForTheSameSeed()
    {
        var first = Counting.RandomWindows(8, 33, new Random(5));
        var again = Counting.RandomWindows(8, 33, new Random(5));
        var other = Counting.RandomWindows(8, 33, new Random(6));

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        for (int w = 0; w < 8; w++)
        {
            var window = first.AsSpan(w * 33, 33).ToArray();
            Assert.Equal(Enumerable.Range(window[0], 33), window);
        }
    }

    [Fact]
    public void EvaluationWindowsPredictEveryTokenAfterTheFirstExactlyOnce()
    {
        var stream = new TokenStream(Enumerable.Range(0, 11).ToArray());

        var windows = stream.EvaluationWindows(contextLength: 4).Select(w => w.ToArray()).ToArray();

        Assert.Equal([[0, 1, 2, 3, 4], [4, 5, 6, 7, 8], [8, 9, 10]], windows);
        Assert.Equal(Enumerable.Range(1, 10), windows.SelectMany(w => w.Skip(1)));
        Assert.Equal(2, stream.EvaluationWindows(4, maxWindows: 2).Count());
    }

    [Fact]
    public void ASplitIsItsEntriesEachEndedByEndOfText()
    {
        var tokenizer = BpeTrainer.Train(["ab ab", "cd"], vocabularySize: 258);

        var stream = TokenStream.Encode(tokenizer, new SpecialTokens(null, [BpeTokenizer.EndOfTextId], null), ["ab", "c"]);

        Assert.Equal([.. tokenizer.Encode("ab"), BpeTokenizer.EndOfTextId, .. tokenizer.Encode("c"), BpeTokenizer.EndOfTextId], stream.Tokens.ToArray());
    }

    [Fact]
    public void AWindowLongerThanTheStreamIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => new TokenStream([1, 2, 3]).RandomWindows(1, 4, new Random(1)));

        Assert.Contains("does not fit", error.Message);
    }
}
