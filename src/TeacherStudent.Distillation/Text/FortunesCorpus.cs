using TeacherStudent.Distillation.Data;

namespace TeacherStudent.Distillation.Text;

/// <summary>
/// English text for language models: every entry of the fortune files that the Debian
/// package <c>fortunes</c> installs (about 15,000 entries, 2.5 million characters), split
/// by entry into train, validation and test (<see cref="StableSplit"/>). Files are read in
/// ordinal name order and entries kept in file order, so every machine sees the same lists.
/// Duplicate entries are kept (they are part of the corpus) and always share a split.
/// </summary>
public sealed class FortunesCorpus
{
    /// <summary>Where the Debian package puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/games/fortunes";

    private static readonly string[] IndexExtensions = [".dat", ".u8"];

    private readonly IReadOnlyList<string>[] splits;

    private FortunesCorpus(IReadOnlyList<string> files, IReadOnlyList<string>[] splits)
    {
        Files = files;
        this.splits = splits;
        Counts = new CorpusCounts(SplitCounts.Of(Train), SplitCounts.Of(Validation), SplitCounts.Of(Test));
    }

    /// <summary>Names of the fortune files that were read, in reading order.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>About 90% of the entries: what models and the tokenizer learn from.</summary>
    public IReadOnlyList<string> Train => splits[(int)CorpusSplit.Train];

    /// <summary>About 5% of the entries.</summary>
    public IReadOnlyList<string> Validation => splits[(int)CorpusSplit.Validation];

    /// <summary>About 5% of the entries, held out.</summary>
    public IReadOnlyList<string> Test => splits[(int)CorpusSplit.Test];

    /// <summary>Entries and characters per split.</summary>
    public CorpusCounts Counts { get; }

    /// <summary>The entries of <paramref name="split"/>.</summary>
    public IReadOnlyList<string> Entries(CorpusSplit split) => splits[(int)split];

    /// <summary>
    /// Reads every fortune file in <paramref name="directory"/>: regular files (or links to
    /// them) without the <c>.dat</c>/<c>.u8</c> extensions of the package's indexes and
    /// aliases; subdirectories such as <c>off/</c> and dangling links are skipped, and a file
    /// reached through two names is read once.
    /// </summary>
    /// <exception cref="DatasetNotFoundException">The directory is missing or holds no fortune file.</exception>
    public static FortunesCorpus Load(string directory = DefaultDirectory)
    {
        if (!Directory.Exists(directory))
            throw NotFound($"{directory} does not exist");
        var files = FindDataFiles(directory);
        if (files.Count == 0)
            throw NotFound($"{directory} holds no fortune file");

        var splits = Enum.GetValues<CorpusSplit>().Select(_ => new List<string>()).ToArray();
        foreach (var file in files)
        {
            foreach (var entry in FortuneFile.ReadEntries(Path.Combine(directory, file)))
                splits[(int)StableSplit.Of(entry)].Add(entry);
        }
        return new FortunesCorpus(files, splits);
    }

    /// <summary>
    /// Reads one file of entries in the fortune format (entries separated by lines that hold only
    /// <c>%</c>), such as a corpus the project generates, and splits it by entry like the fortunes.
    /// </summary>
    /// <exception cref="DatasetNotFoundException">The file is missing or holds no entry.</exception>
    public static FortunesCorpus LoadFile(string path)
    {
        if (!File.Exists(path))
            throw new DatasetNotFoundException($"The corpus file {path} does not exist.");
        var corpus = FromEntries(Path.GetFileName(path), FortuneFile.ReadEntries(path));
        if (corpus.Train.Count + corpus.Validation.Count + corpus.Test.Count == 0)
            throw new DatasetNotFoundException($"The corpus file {path} holds no entry (entries are separated by lines holding only %).");
        return corpus;
    }

    /// <summary>A corpus of <paramref name="entries"/> (texts made elsewhere, such as a teacher's), split by entry like the fortunes.</summary>
    public static FortunesCorpus FromEntries(string name, IEnumerable<string> entries)
    {
        var splits = Enum.GetValues<CorpusSplit>().Select(_ => new List<string>()).ToArray();
        foreach (var entry in entries)
            splits[(int)StableSplit.Of(entry)].Add(entry);
        return new FortunesCorpus([name], splits);
    }

    private static List<string> FindDataFiles(string directory)
    {
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
        {
            if (IndexExtensions.Contains(Path.GetExtension(path), StringComparer.Ordinal)) continue;
            var info = new FileInfo(path);
            var target = info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true);
            if (target is null || !target.Exists) continue; // a dangling link, or a link to a directory
            if (seen.Add(Path.GetFullPath(target.FullName))) names.Add(Path.GetFileName(path));
        }
        return names;
    }

    private static DatasetNotFoundException NotFound(string what) => new(
        $"The fortunes corpus was not found: {what}. Install the Debian package 'fortunes' " +
        "(apt-get install fortunes) or point the corpus directory option at a folder of fortune files.");
}
