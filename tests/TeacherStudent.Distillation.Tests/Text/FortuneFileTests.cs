using System.Text;
using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Tests.Text;

public sealed class FortuneFileTests
{
    [Fact]
    public void EntriesAreSeparatedByLinesHoldingOnlyAPercentSign()
    {
        var bytes = Encoding.UTF8.GetBytes("First.\n%\nSecond,\n  on two lines.\n%\nThird 100% sure.\n%\n");

        var entries = FortuneFile.ParseEntries(bytes);

        Assert.Equal(["First.", "Second,\n  on two lines.", "Third 100% sure."], entries);
    }

    [Fact]
    public void TrailingWhitespaceAndBlankEdgeLinesAreCutButInnerBlankLinesAndIndentationStay()
    {
        var bytes = Encoding.UTF8.GetBytes("\n\n\tIndented line.   \r\n\nAfter a blank line.\t \n\n%  \r\n");

        var entries = FortuneFile.ParseEntries(bytes);

        Assert.Equal(["\tIndented line.\n\nAfter a blank line."], entries);
    }

    [Fact]
    public void EmptyEntriesAreDropped()
    {
        var bytes = Encoding.UTF8.GetBytes("%\n\n   \n%\n%\nOnly this.\n%\n");

        var entries = FortuneFile.ParseEntries(bytes);

        Assert.Equal(["Only this."], entries);
    }

    [Fact]
    public void AUtf8LineAndALatin1LineInOneFileBothDecode()
    {
        byte[] bytes = [.. Encoding.UTF8.GetBytes("Café in UTF-8\n"), .. Encoding.Latin1.GetBytes("Café in Latin-1\n")];

        var entries = FortuneFile.ParseEntries(bytes);

        Assert.Equal(["Café in UTF-8\nCafé in Latin-1"], entries);
    }

    [Fact]
    public void OverstrikingIsResolvedToTheCharactersATerminalShows()
    {
        // underlined with "___\b\b\b" before the word, bold as "X\bX", underlined after the letter as "e\b_"
        var bytes = Encoding.UTF8.GetBytes("whiter teeth *___\b\b\band* B\bBo\bol\bld\bd th\b_e\b_\n");

        var entries = FortuneFile.ParseEntries(bytes);

        Assert.Equal(["whiter teeth *and* Bold the"], entries);
    }
}
