using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Tests.Text;

public sealed class BpeTrainerTests
{
    private const int A = 'a', B = 'b', C = 'c', D = 'd', Space = ' ';

    [Fact]
    public void TheTextbookExampleGivesTheMergesWorkedOutByHand()
    {
        // "aaabdaaabac" is one piece. Pairs: aa x4, ab x2, bd, da, ba, ac x1, so aa -> 257:
        //   aa a b d aa a b a c  (left to right: "aaa" is "aa a")
        // Pairs: (aa,a) x2, (a,b) x2, the rest x1; the tie goes to the smaller ids, (a,b) -> 258:
        //   aa ab d aa ab a c
        // Pairs: (aa,ab) x2, the rest x1, so (257,258) -> 259 ("aaab").
        var tokenizer = BpeTrainer.Train(["aaabdaaabac"], BpeTokenizer.FirstMergeId + 3);

        Assert.Equal([(A, A), (A, B), (257, 258)], tokenizer.Merges);
        Assert.Equal("aaab", tokenizer.Decode([259]));
        Assert.Equal([259, D, 259, A, C], tokenizer.Encode("aaabdaaabac"));
    }

    [Fact]
    public void PairsAreCountedOverEveryOccurrenceOfAPiece()
    {
        // "cd" twice outweighs "ab" once; pieces of other texts count the same as repeats within one.
        var tokenizer = BpeTrainer.Train(["ab", "cd cd", "cd"], BpeTokenizer.FirstMergeId + 1);

        Assert.Equal([(C, D)], tokenizer.Merges);
    }

    [Fact]
    public void MergesNeverSpanTwoTextsOrTwoPieces()
    {
        // Pieces "a", " a", " a" and, in the second text, "b": the only pair is (space, a).
        var tokenizer = BpeTrainer.Train(["a a a", "b"], 300);

        Assert.Equal([(Space, A)], tokenizer.Merges);
        Assert.Equal(BpeTokenizer.FirstMergeId + 1, tokenizer.VocabularySize); // ran out of pairs before 300
    }

    [Fact]
    public void TheVocabularyHasTheSizeAsked()
    {
        var text = "It was the best of times, it was the worst of times, it was the age of wisdom.";

        var tokenizer = BpeTrainer.Train([text], 280);

        Assert.Equal(280, tokenizer.VocabularySize);
        Assert.Equal(280 - BpeTokenizer.FirstMergeId, tokenizer.Merges.Count);
    }

    [Fact]
    public void TrainingTwiceOnTheSameTextGivesTheSameTokenizer()
    {
        string[] texts = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"];

        var first = BpeTrainer.Train(texts, 290);
        var second = BpeTrainer.Train(texts.Reverse(), 290);

        Assert.Equal(first.Merges, second.Merges);
        Assert.Equal(first.Digest, second.Digest);
    }

    [Fact]
    public void AVocabularyWithoutRoomForTheBytesAndEndOfTextIsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BpeTrainer.Train(["text"], 256));
    }
}
