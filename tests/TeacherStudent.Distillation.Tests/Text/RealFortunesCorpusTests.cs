using TeacherStudent.Distillation.Text;
using Xunit.Abstractions;

namespace TeacherStudent.Distillation.Tests.Text;

/// <summary>The split of the real corpus installed by the Debian package <c>fortunes</c>.</summary>
public sealed class RealFortunesCorpusTests(ITestOutputHelper output)
{
    private static FortunesCorpus Corpus => RealFortunes.Corpus;

    [Fact]
    public void LoadingAgainGivesTheSameSplitsInTheSameOrder()
    {
        var again = FortunesCorpus.Load();

        Assert.Equal(Corpus.Files, again.Files);
        Assert.Equal(Corpus.Train, again.Train);
        Assert.Equal(Corpus.Validation, again.Validation);
        Assert.Equal(Corpus.Test, again.Test);
    }

    [Fact]
    public void NoTextIsInTwoSplits()
    {
        var train = Corpus.Train.ToHashSet();
        var validation = Corpus.Validation.ToHashSet();
        var test = Corpus.Test.ToHashSet();

        Assert.Empty(train.Intersect(validation));
        Assert.Empty(train.Intersect(test));
        Assert.Empty(validation.Intersect(test));
    }

    [Fact]
    public void TheSplitsHoldEveryEntryOfEveryFileAndNothingElse()
    {
        var everyEntry = Corpus.Files
            .SelectMany(f => FortuneFile.ReadEntries(Path.Combine(FortunesCorpus.DefaultDirectory, f)))
            .Order(StringComparer.Ordinal).ToList();

        var inSplits = Corpus.Train.Concat(Corpus.Validation).Concat(Corpus.Test).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(everyEntry, inSplits);
        Assert.True(everyEntry.Count > 10_000, $"the package should hold over 10,000 entries, not {everyEntry.Count}");
        Assert.Contains("fortunes", Corpus.Files);
        Assert.DoesNotContain(Corpus.Files, f => f.EndsWith(".dat", StringComparison.Ordinal) || f.EndsWith(".u8", StringComparison.Ordinal));
    }

    [Fact]
    public void TheSplitsAreAboutNinetyFiveAndFivePercent()
    {
        var counts = Corpus.Counts;
        output.WriteLine(counts.ToString());

        Assert.InRange(counts.Train.Entries / (double)counts.Entries, 0.88, 0.92);
        Assert.InRange(counts.Validation.Entries / (double)counts.Entries, 0.04, 0.06);
        Assert.InRange(counts.Test.Entries / (double)counts.Entries, 0.04, 0.06);
    }

    [Fact]
    public void EveryCopyOfADuplicatedEntryIsInTheSameSplit()
    {
        var splitsOfText = Enum.GetValues<CorpusSplit>()
            .SelectMany(split => Corpus.Entries(split).Select(entry => (entry, split)))
            .GroupBy(e => e.entry, e => e.split)
            .Where(g => g.Count() > 1)
            .ToList();

        Assert.NotEmpty(splitsOfText); // the package does repeat some entries
        Assert.All(splitsOfText, copies => Assert.Single(copies.Distinct()));
    }

    [Fact]
    public void EntriesAreNormalised()
    {
        var all = Corpus.Train.Concat(Corpus.Validation).Concat(Corpus.Test).ToList();

        Assert.All(all, entry =>
        {
            Assert.False(string.IsNullOrWhiteSpace(entry));
            Assert.DoesNotContain('\b', entry);
            Assert.DoesNotContain('\r', entry);
            Assert.All(entry.Split('\n'), line => Assert.Equal(line.TrimEnd(), line));
            Assert.NotEqual("%", entry);
        });
    }
}
