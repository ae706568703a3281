namespace TeacherStudent.Teacher.Tests;

public sealed class EchoedTextTests
{
    [Theory]
    [InlineData("")]
    [InlineData("fashion")]
    [InlineData("a-name-of-exactly-sixty-four-characters-012345678901234567890123")]
    public void ShortPrintableTextIsEchoedUnchanged(string text)
    {
        // Act
        var echoed = EchoedText.Of(text);

        // Assert
        Assert.Equal(text, echoed);
    }

    [Fact]
    public void LongTextIsCutToSixtyFourCharactersFollowedByItsLength()
    {
        // Arrange
        var text = string.Concat(Enumerable.Repeat("0123456789", 1000));

        // Act
        var echoed = EchoedText.Of(text);

        // Assert
        Assert.Equal(string.Concat(Enumerable.Repeat("0123456789", 7))[..64] + "…(10000 chars)", echoed);
    }

    [Fact]
    public void ControlCharactersAreEscapedSoThatAnEchoCannotStartALogLine()
    {
        // Act
        var echoed = EchoedText.Of("fashion\nfake log line\r\t");

        // Assert
        Assert.Equal("fashion\\u000afake log line\\u000d\\u0009", echoed);
    }

    [Fact]
    public void ACutNeverSplitsASurrogatePair()
    {
        // Arrange: 63 letters, then an emoji (two UTF-16 units) across the cut, then more.
        var text = new string('a', 63) + "😀" + new string('b', 10);

        // Act
        var echoed = EchoedText.Of(text);

        // Assert
        Assert.Equal(new string('a', 63) + "…(75 chars)", echoed);
    }

    [Fact]
    public void NullIsEchoedAsEmpty()
    {
        // Act
        var echoed = EchoedText.Of(null);

        // Assert
        Assert.Equal("", echoed);
    }
}
