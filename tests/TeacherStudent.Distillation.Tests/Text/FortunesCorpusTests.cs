using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Tests.Text;

/// <summary>The corpus reader on small fortune folders written by the tests.</summary>
public sealed class FortunesCorpusTests : IDisposable
{
    private readonly TemporaryDirectory directory = new();

    [Fact]
    public void EntriesGoToTheSplitsTheirTextNames()
    {
        // Splits of these texts are worked out in StableSplitTests.
        Write("quotes", "fortune 0", "fortune 29", "fortune 3", "fortune 24");

        var corpus = FortunesCorpus.Load(directory.Path);

        Assert.Equal(["fortune 0", "fortune 24"], corpus.Train);
        Assert.Equal(["fortune 29"], corpus.Validation);
        Assert.Equal(["fortune 3"], corpus.Test);
        Assert.Equal(corpus.Test, corpus.Entries(CorpusSplit.Test));
    }

    [Fact]
    public void OnlyDataFilesAreReadAndAFileReachedThroughTwoNamesIsReadOnce()
    {
        Write("art", "fortune 0");
        Write("art.dat", "an index, not text");
        File.CreateSymbolicLink(directory.File("art.u8"), "art");
        File.CreateSymbolicLink(directory.File("art-again"), "art");
        File.CreateSymbolicLink(directory.File("gone"), "no-such-file");
        Directory.CreateDirectory(directory.File("off"));
        File.WriteAllText(Path.Combine(directory.File("off"), "rude"), "fortune 2\n");

        var corpus = FortunesCorpus.Load(directory.Path);

        Assert.Equal(["art"], corpus.Files);
        Assert.Equal(["fortune 0"], corpus.Train);
        Assert.Equal(1, corpus.Counts.Entries);
    }

    [Fact]
    public void DuplicateEntriesInDifferentFilesLandInOneSplitAndAreBothKept()
    {
        Write("a", "fortune 1", "fortune 0");
        Write("b", "fortune 1");

        var corpus = FortunesCorpus.Load(directory.Path);

        Assert.Equal(["fortune 1", "fortune 1"], corpus.Test);
        Assert.Equal(["fortune 0"], corpus.Train);
        Assert.Empty(corpus.Validation);
    }

    [Fact]
    public void NeitherTheFileAnEntryIsInNorTheOrderFilesWereWrittenInChangesTheSplits()
    {
        Write("a", "fortune 0", "fortune 2", "fortune 9");
        Write("b", "fortune 4");
        var first = FortunesCorpus.Load(directory.Path);
        using var other = new TemporaryDirectory();
        File.WriteAllText(Path.Combine(other.Path, "b"), "fortune 4\n%\nfortune 9\n");
        File.WriteAllText(Path.Combine(other.Path, "a"), "fortune 0\n%\nfortune 2\n");

        var second = FortunesCorpus.Load(other.Path);

        Assert.Equal(first.Train, second.Train);
        Assert.Equal(["fortune 0", "fortune 2", "fortune 4"], first.Train);
        Assert.Equal(["fortune 9"], second.Validation);
    }

    [Fact]
    public void CountsAreEntriesAndCharactersPerSplit()
    {
        Write("a", "fortune 0", "fortune 24\nsecond line", "fortune 29", "fortune 3"); // the two-line entry hashes to bucket 10: train

        var counts = FortunesCorpus.Load(directory.Path).Counts;

        Assert.Equal(new SplitCounts(2, "fortune 0".Length + "fortune 24\nsecond line".Length), counts.Train);
        Assert.Equal(new SplitCounts(1, "fortune 29".Length), counts.Validation);
        Assert.Equal(new SplitCounts(1, "fortune 3".Length), counts.Test);
        Assert.Equal(4, counts.Entries);
    }

    [Fact]
    public void AMissingDirectoryNamesTheDebianPackageToInstall()
    {
        var missing = directory.File("no-such-directory");

        var error = Assert.Throws<DatasetNotFoundException>(() => FortunesCorpus.Load(missing));

        Assert.Contains("install the Debian package 'fortunes' (apt-get install fortunes)", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void ADirectoryWithoutFortuneFilesNamesTheDebianPackageToInstall()
    {
        Write("cookie.dat", "an index only");

        var error = Assert.Throws<DatasetNotFoundException>(() => FortunesCorpus.Load(directory.Path));

        Assert.Contains("holds no fortune file", error.Message);
        Assert.Contains("apt-get install fortunes", error.Message);
    }

    [Fact]
    public void OneCorpusFileIsSplitByEntryLikeTheFortuneFiles()
    {
        Write("corpus.txt", "fortune 0", "fortune 29", "fortune 3", "fortune 24");

        var corpus = FortunesCorpus.LoadFile(directory.File("corpus.txt"));

        Assert.Equal(["corpus.txt"], corpus.Files);
        Assert.Equal(["fortune 0", "fortune 24"], corpus.Train);
        Assert.Equal(["fortune 29"], corpus.Validation);
        Assert.Equal(["fortune 3"], corpus.Test);
    }

    [Fact]
    public void AMissingOrEmptyCorpusFileIsNamed()
    {
        File.WriteAllText(directory.File("empty.txt"), "%\n\n%\n");

        var missing = Assert.Throws<DatasetNotFoundException>(() => FortunesCorpus.LoadFile(directory.File("none.txt")));
        var empty = Assert.Throws<DatasetNotFoundException>(() => FortunesCorpus.LoadFile(directory.File("empty.txt")));

        Assert.Contains("none.txt does not exist", missing.Message);
        Assert.Contains("empty.txt holds no entry", empty.Message);
    }

    public void Dispose() => directory.Dispose();

    private void Write(string name, params string[] entries) =>
        File.WriteAllText(directory.File(name), string.Join("\n%\n", entries) + "\n");
}
