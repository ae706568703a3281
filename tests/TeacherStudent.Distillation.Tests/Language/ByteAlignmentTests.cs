using System.Text;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Tests.Language;

public sealed class ByteAlignmentTests : IDisposable
{
    private readonly TemporaryDirectory directory = new();
    private readonly HuggingFaceTokenizer tokenizer;

    public ByteAlignmentTests()
    {
        // A byte-level BPE of the project's own kind: ids 0-255 are the bytes themselves.
        var path = directory.File("tokenizer.json");
        ByteLevelBpeJson.Write(path, BpeTrainer.Train(["the cat sat on the mat", "the dog sat on the log"], vocabularySize: 270));
        tokenizer = HuggingFaceTokenizer.Load(path);
    }

    public void Dispose()
    {
        tokenizer.Dispose();
        directory.Dispose();
    }

    [Fact]
    public void AWindowIsSpeltAsTheTextOfItsTokensWithEachTokensBytes()
    {
        var ids = tokenizer.Encode("the cat sat"); // "<|endoftext|>" first, which this tokenizer's post-processor adds

        var window = ByteAlignment.Spell(tokenizer.Vocabulary, ids);

        Assert.Equal("<|endoftext|>the cat sat", window.Text);
        var at = 0;
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.Equal(at, window.Starts[i]);
            at += tokenizer.Vocabulary.BytesOf(ids[i]).Length;
            Assert.Equal(at, window.Ends[i]);
        }
        Assert.True(ids.Length < 1 + "the cat sat".Length, "the tokenizer merged nothing: spans of one byte each would prove little");
    }

    [Fact]
    public void AWindowCutInsideACharacterDropsItsBytesAndTheirTokens()
    {
        // "é" is bytes C3 A9 and "ö" C3 B6, which this tokenizer (trained on ASCII) keeps as byte tokens:
        // the window starts after the C3 of "é" and ends before the B6 of "ö".
        int[] ids = [0xA9, 'l', 'o', ' ', 'w', 0xC3];

        var window = ByteAlignment.Spell(tokenizer.Vocabulary, ids);

        Assert.Equal("lo w", window.Text);
        Assert.Equal([-1, 0, 1, 2, 3, -1], window.Starts);
        Assert.Equal([-1, 1, 2, 3, 4, -1], window.Ends);
    }

    [Fact]
    public void WholeMultiByteCharactersAreKept()
    {
        var ids = tokenizer.Encode("ça été");

        var window = ByteAlignment.Spell(tokenizer.Vocabulary, ids);

        Assert.Equal("<|endoftext|>ça été", window.Text);
        Assert.Equal(Encoding.UTF8.GetByteCount("<|endoftext|>ça été"), window.Ends[^1]);
    }

    [Fact]
    public void TokensThatCoverTheSameBytesAreMatchedByTheRowsThatPredictThem()
    {
        // Student "a" "b" " cd" "e"; teacher (a bos that covers nothing) "ab" " cd" "e".
        var student = new WindowText("ab cde", [0, 1, 2, 5], [1, 2, 5, 6]);
        int[] teacherStarts = [0, 0, 2, 5], teacherEnds = [0, 2, 5, 6];

        var pairs = ByteAlignment.Pairs(student, teacherStarts, teacherEnds, teacherLength: 4);

        // " cd": student token 2 (row 1) and teacher token 2 (row 1); "e": student token 3 (row 2), teacher token 3 (row 2).
        Assert.Equal([(1, 1), (2, 2)], pairs);
    }

    [Fact]
    public void OnlyTheTokensTheTeacherScoredAreMatched()
    {
        var student = new WindowText("ab cde", [0, 1, 2, 5], [1, 2, 5, 6]);
        int[] teacherStarts = [0, 0, 2, 5], teacherEnds = [0, 2, 5, 6];

        // The teacher's context held its first three tokens only: "e" was not scored.
        var pairs = ByteAlignment.Pairs(student, teacherStarts, teacherEnds, teacherLength: 3);

        Assert.Equal([(1, 1)], pairs);
    }

    [Fact]
    public void TokensOutsideTheTextAndEmptyTokensAreNeverMatched()
    {
        // Student token 1 was dropped (a cut character): its span is -1..-1; the teacher's padding covers 0..0.
        var student = new WindowText("xy", [0, -1, 1], [1, -1, 2]);
        int[] teacherStarts = [0, 1, 0], teacherEnds = [1, 2, 0];

        var pairs = ByteAlignment.Pairs(student, teacherStarts, teacherEnds, teacherLength: 3);

        Assert.Equal([(1, 0)], pairs);
    }
}
