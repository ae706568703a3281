using System.Text.Json;
using System.Text.Json.Nodes;
using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Tests.Text;

public sealed class BpeTokenizerFileTests : IDisposable
{
    private const int A = 'a', B = 'b';

    private static readonly BpeTokenizer Trained = BpeTrainer.Train(
        ["Knowledge distillation trains a small student from a large teacher.", "Ünïcödé too 😀"], 300);

    private readonly TemporaryDirectory directory = new();

    [Fact]
    public void ALoadedTokenizerEncodesLikeTheSavedOneAndHasItsDigest()
    {
        var path = directory.File("tokenizer.json");
        var text = "A teacher distils knowledge into a student. Ünïcödé 😀";

        Trained.Save(path);
        var loaded = BpeTokenizer.Load(path);

        Assert.Equal(Trained.Encode(text), loaded.Encode(text));
        Assert.Equal(Trained.Merges, loaded.Merges);
        Assert.Equal(Trained.VocabularySize, loaded.VocabularySize);
        Assert.Equal(Trained.Digest, loaded.Digest);
    }

    [Fact]
    public void TheDigestIsTheSha256OfTheCanonicalFormWorkedOutElsewhere()
    {
        // Python: hashlib.sha256(("TeacherStudent byte-level BPE v1\npattern " + pattern +
        //   "\nend-of-text 256 <|endoftext|>\nmerge 97 97\nmerge 97 98\n").encode()).hexdigest()[:16]
        var tokenizer = new BpeTokenizer([(A, A), (A, B)]);

        Assert.Equal("6f239cfffff82bc6", tokenizer.Digest);
        Assert.Equal("5fec32c2733683b2", new BpeTokenizer([]).Digest);
    }

    [Fact]
    public void TheDigestDoesNotDependOnHowTheFileIsLaidOut()
    {
        var path = directory.File("tokenizer.json");
        Trained.Save(path);
        var node = JsonNode.Parse(File.ReadAllText(path))!;
        var compact = new JsonObject
        {
            // other property order, no indentation
            ["merges"] = node["merges"]!.DeepClone(),
            ["specialTokens"] = node["specialTokens"]!.DeepClone(),
            ["pattern"] = node["pattern"]!.DeepClone(),
            ["format"] = node["format"]!.DeepClone(),
        };
        var other = directory.File("other.json");
        File.WriteAllText(other, compact.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));

        var loaded = BpeTokenizer.Load(other);

        Assert.Equal(Trained.Digest, loaded.Digest);
    }

    [Fact]
    public void TheDigestChangesWhenTheMergesDo()
    {
        var one = new BpeTokenizer([(A, B)]);
        var otherMerge = new BpeTokenizer([(B, A)]);
        var longer = new BpeTokenizer([(A, B), (257, A)]);
        var otherOrder = new BpeTokenizer([(B, A), (A, B)]);
        var sameOrder = new BpeTokenizer([(A, B), (B, A)]);

        string[] digests = [one.Digest, otherMerge.Digest, longer.Digest, otherOrder.Digest, sameOrder.Digest];

        Assert.Equal(digests.Length, digests.Distinct().Count());
        Assert.All(digests, d => Assert.Matches("^[0-9a-f]{16}$", d));
    }

    [Fact]
    public void TheFileListsTheMergesAsIdPairsAndTheEndOfTextId()
    {
        var path = directory.File("tokenizer.json");

        new BpeTokenizer([(A, B), (257, A)]).Save(path);
        var node = JsonNode.Parse(File.ReadAllText(path))!;

        Assert.Equal("TeacherStudent byte-level BPE v1", (string?)node["format"]);
        Assert.Equal(PreSplit.Pattern, (string?)node["pattern"]);
        Assert.Equal(256, (int?)node["specialTokens"]!["<|endoftext|>"]);
        Assert.Equal(["97 98", "257 97"], node["merges"]!.AsArray().Select(m => (string?)m));
    }

    [Fact]
    public void SavingLeavesNoTemporaryFileBehindAndReplacesAnOldFile()
    {
        var path = directory.File("tokenizer.json");
        File.WriteAllText(path, "old");

        Trained.Save(path);

        Assert.Equal(["tokenizer.json"], Directory.GetFiles(directory.Path).Select(Path.GetFileName));
        Assert.Equal(Trained.Digest, BpeTokenizer.Load(path).Digest);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"format": "something else", "pattern": "x", "specialTokens": {"<|endoftext|>": 256}, "merges": []}""")]
    [InlineData("""{"format": "TeacherStudent byte-level BPE v1", "pattern": "\\w+", "specialTokens": {"<|endoftext|>": 256}, "merges": []}""")]
    [InlineData("""{"format": "TeacherStudent byte-level BPE v1", "pattern": "PATTERN", "specialTokens": {"<|endoftext|>": 0}, "merges": []}""")]
    [InlineData("""{"format": "TeacherStudent byte-level BPE v1", "pattern": "PATTERN", "specialTokens": {"<|endoftext|>": 256}, "merges": ["97"]}""")]
    [InlineData("""{"format": "TeacherStudent byte-level BPE v1", "pattern": "PATTERN", "specialTokens": {"<|endoftext|>": 256}, "merges": ["97 999"]}""")]
    [InlineData("""{"format": "TeacherStudent byte-level BPE v1", "pattern": "PATTERN", "specialTokens": {"<|endoftext|>": 256}, "merges": ["-1 97"]}""")]
    [InlineData("""{"format": "TeacherStudent byte-level BPE v1", "pattern": "PATTERN", "specialTokens": {"<|endoftext|>": 256}}""")]
    public void AFileThatIsNotSuchATokenizerIsInvalidDataNamingThePath(string contents)
    {
        var path = directory.File("tokenizer.json");
        File.WriteAllText(path, contents.Replace("PATTERN", JsonEncodedText.Encode(PreSplit.Pattern).ToString()));

        var error = Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(path));

        Assert.Contains(path, error.Message);
    }

    public void Dispose() => directory.Dispose();
}
