using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Tests.Text;

public sealed class StableSplitTests
{
    // Worked out with Python's hashlib: int.from_bytes(sha256(text.encode()).digest()[:8], "big") % 100
    [Theory]
    [InlineData("fortune 0", CorpusSplit.Train)] // 76
    [InlineData("fortune 24", CorpusSplit.Train)] // 89, the last train bucket
    [InlineData("fortune 29", CorpusSplit.Validation)] // 90, the first validation bucket
    [InlineData("fortune 36", CorpusSplit.Validation)] // 94, the last validation bucket
    [InlineData("fortune 14", CorpusSplit.Test)] // 95, the first test bucket
    [InlineData("fortune 3", CorpusSplit.Test)] // 99
    [InlineData("Ünïcödé — “quotes”", CorpusSplit.Train)] // 81, hashed as UTF-8
    public void AnEntryGoesToTheSplitItsHashBucketNames(string entry, CorpusSplit expected)
    {
        var split = StableSplit.Of(entry);

        Assert.Equal(expected, split);
    }
}
