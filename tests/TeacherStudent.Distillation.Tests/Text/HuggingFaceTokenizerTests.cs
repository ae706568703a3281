using System.Text;
using System.Text.Json.Nodes;
using TeacherStudent.Distillation.Text;
using Xunit.Abstractions;

namespace TeacherStudent.Distillation.Tests.Text;

public sealed class HuggingFaceTokenizerTests(ITestOutputHelper output)
{
    private const int FortunesCompared = 400;

    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    [InlineData("llama2")]
    public async Task IdsAndTokensEqualThoseOfHuggingFaceTokenizersJs(string model)
    {
        // Arrange
        await TokenizerReference.InstallAsync();
        string[] texts = [.. TokenizerTexts.Varied, TokenizerTexts.Decomposed, .. TokenizerTexts.Fortunes(FortunesCompared)];
        using var tokenizer = HuggingFaceTokenizer.Load(TokenizerReference.ModelDirectory(model));

        // Act
        var expected = await TokenizerReference.EncodeAsync(model, texts);
        var actual = texts.Select(t => tokenizer.Encode(t)).ToArray();

        // Assert
        var differences = new List<string>();
        for (var i = 0; i < texts.Length; i++)
        {
            var tokens = tokenizer.Tokens(actual[i]);
            if (!actual[i].SequenceEqual(expected[i].Ids) || !tokens.SequenceEqual(expected[i].Tokens))
                differences.Add($"{Quote(texts[i])}: [{string.Join(',', actual[i])}] but the reference gives [{string.Join(',', expected[i].Ids)}]");
        }
        var total = actual.Sum(a => a.Length);
        output.WriteLine($"{model}: {texts.Length} texts, {total} tokens, {texts.Length - differences.Count} equal to the reference");
        Assert.True(differences.Count == 0, $"{differences.Count} of {texts.Length} texts differ:\n{string.Join('\n', differences.Take(5))}");
        Assert.True(total > 10 * texts.Length, "the texts encode to almost nothing: the comparison would prove little");
    }

    [Theory]
    [InlineData("qwen3", "<|im_start|>", 151644)]
    [InlineData("qwen3", "<|endoftext|>", 151643)]
    [InlineData("llama3", "<|begin_of_text|>", 128000)]
    [InlineData("llama3", "<|eot_id|>", 128009)]
    [InlineData("llama2", "</s>", 2)]
    public async Task ASpecialTokenWrittenInTheTextBecomesItsId(string model, string special, int id)
    {
        // Arrange
        await TokenizerReference.InstallAsync();
        using var tokenizer = HuggingFaceTokenizer.Load(TokenizerReference.ModelDirectory(model));

        // Act
        var ids = tokenizer.Encode($"before{special}after");

        // Assert
        Assert.Contains(id, ids);
        Assert.Contains(tokenizer.Vocabulary.AddedTokens, a => a.Id == id && a.Content == special && a.Special);
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    [InlineData("llama2")]
    public async Task DecodingGivesTheTextBack(string model)
    {
        // Arrange
        await TokenizerReference.InstallAsync();
        using var tokenizer = HuggingFaceTokenizer.Load(TokenizerReference.ModelDirectory(model));
        var texts = TokenizerTexts.Varied.Concat(TokenizerTexts.Fortunes(FortunesCompared)).ToArray();
        var added = tokenizer.Decode(tokenizer.Encode("")); // what the post-processor puts first: "<s>" for Llama 2, nothing for the others

        // Act
        var decoded = texts.Select(t => tokenizer.Decode(tokenizer.Encode(t))).ToArray();

        // Assert
        Assert.Equal(model == "llama2" ? "<s>" : "", added);
        var differences = texts.Zip(decoded).Where(p => added + p.First != p.Second).Select(p => $"{Quote(p.First)} came back as {Quote(p.Second)}").ToList();
        output.WriteLine($"{model}: {texts.Length - differences.Count} of {texts.Length} texts round-trip");
        Assert.True(differences.Count == 0, string.Join('\n', differences.Take(5)));
    }

    [Theory]
    [InlineData("qwen3", TokenizerTexts.DecomposedComposed)]
    [InlineData("llama3", TokenizerTexts.Decomposed)]
    [InlineData("llama2", "<s>" + TokenizerTexts.Decomposed)]
    public async Task DecodingGivesTheTextAsTheNormalizerLeftIt(string model, string expected)
    {
        // Arrange
        await TokenizerReference.InstallAsync();
        using var tokenizer = HuggingFaceTokenizer.Load(TokenizerReference.ModelDirectory(model));

        // Act
        var decoded = tokenizer.Decode(tokenizer.Encode(TokenizerTexts.Decomposed));

        // Assert
        Assert.Equal(expected, decoded);
    }

    [Fact]
    public async Task TheSameTokenizerSavedWithOtherFormattingHasTheSameDigestAndIds()
    {
        // Arrange: indented, every object's keys reversed (the vocabulary's too), in another directory.
        await TokenizerReference.InstallAsync();
        var original = Path.Combine(TokenizerReference.ModelDirectory("qwen3"), HuggingFaceTokenizer.FileName);
        var directory = Directory.CreateTempSubdirectory("tokenizer-");
        try
        {
            var rewritten = Path.Combine(directory.FullName, HuggingFaceTokenizer.FileName);
            var node = JsonNode.Parse(await File.ReadAllTextAsync(original))!;
            await File.WriteAllTextAsync(rewritten, Reversed(node).ToJsonString(new() { WriteIndented = true }));
            Assert.NotEqual(await File.ReadAllTextAsync(original), await File.ReadAllTextAsync(rewritten));
            using var first = HuggingFaceTokenizer.Load(original);

            // Act
            using var second = HuggingFaceTokenizer.Load(directory.FullName);

            // Assert
            Assert.Equal(first.Digest, second.Digest);
            Assert.Equal(first.Encode(TokenizerTexts.Varied[^1]), second.Encode(TokenizerTexts.Varied[^1]));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("qwen3", "197c3fecfa1d98bee95923fe1e17e684d99ae935dc302ac191b6dc101dd39384")]
    [InlineData("llama3", "e7a9e896c9259f67197d6a10de402ad0c167f84065e23675c8dff9137bcbd674")]
    [InlineData("llama2", "e82aa8a0244c6de57c5b10f3bc5de210aac432c8f7df33f2d9e347c7e0473e58")]
    public async Task TheDigestOfARealTokenizerStaysWhatItWas(string model, string expected)
    {
        // Arrange: the digest is in every served version and cache key; its definition must not drift
        // (the values were computed when it was defined, issue 14).
        await TokenizerReference.InstallAsync();
        var file = Path.Combine(TokenizerReference.ModelDirectory(model), HuggingFaceTokenizer.FileName);

        // Act
        var digest = TokenizerVocabulary.Read(file).Digest;

        // Assert
        Assert.Equal(expected, digest);
    }

    [Fact]
    public void AUnigramVocabularyIsReadByPositionPastEverythingElseInTheFile()
    {
        // Arrange: a byte order mark; nested values before, between and after the parts read; a Unigram
        // vocabulary ([piece, score] by position), an entry with more than a score; added tokens with other fields.
        var directory = Directory.CreateTempSubdirectory("tokenizer-");
        try
        {
            var file = Path.Combine(directory.FullName, HuggingFaceTokenizer.FileName);
            File.WriteAllBytes(file, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("""
                {"version": "1.0", "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"a": [[], {}]}]},
                 "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": false,
                           "vocab": [["<unk>", 0.0], ["▁a", -1.5], ["b", -2.0, {"extra": [1]}]]},
                 "added_tokens": [{"id": 0, "content": "<unk>", "single_word": false, "special": true, "normalized": false},
                                  {"special": false, "content": "<x>", "id": 4}],
                 "decoder": {"type": "Metaspace", "replacement": "▁"}}
                """)]);

            // Act
            var vocabulary = TokenizerVocabulary.Read(file);

            // Assert
            Assert.Equal(5, vocabulary.Size);
            Assert.Equal(["<unk>", "\u2581a", "b", null, "<x>"], Enumerable.Range(0, 5).Select(vocabulary.TokenOf));
            Assert.Equal([new AddedToken(0, "<unk>", true), new AddedToken(4, "<x>", false)], vocabulary.AddedTokens);
            Assert.False(vocabulary.IsByteLevel);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task DifferentVocabulariesHaveDifferentDigests()
    {
        // Arrange: Qwen3, Llama 3, and Qwen3 with one token renamed.
        await TokenizerReference.InstallAsync();
        var qwenFile = Path.Combine(TokenizerReference.ModelDirectory("qwen3"), HuggingFaceTokenizer.FileName);
        var directory = Directory.CreateTempSubdirectory("tokenizer-");
        try
        {
            var node = JsonNode.Parse(await File.ReadAllTextAsync(qwenFile))!;
            var vocab = node["model"]!["vocab"]!.AsObject();
            var id = vocab["Hello"]!.GetValue<int>();
            vocab.Remove("Hello");
            vocab["Hullo"] = id;
            var renamed = Path.Combine(directory.FullName, HuggingFaceTokenizer.FileName);
            await File.WriteAllTextAsync(renamed, node.ToJsonString());

            // Act
            var qwen = TokenizerVocabulary.Read(qwenFile).Digest;
            var llama = TokenizerVocabulary.Read(Path.Combine(TokenizerReference.ModelDirectory("llama3"), HuggingFaceTokenizer.FileName)).Digest;
            var qwenRenamed = TokenizerVocabulary.Read(renamed).Digest;

            // Assert
            Assert.Equal(64, qwen.Length);
            Assert.NotEqual(qwen, llama);
            Assert.NotEqual(qwen, qwenRenamed);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void ADirectoryWithoutTokenizerJsonIsRefusedWithASentenceNamingIt()
    {
        // Arrange
        var directory = Directory.CreateTempSubdirectory("model-");
        try
        {
            // Act
            var error = Assert.Throws<FileNotFoundException>(() => HuggingFaceTokenizer.Load(directory.FullName));

            // Assert
            Assert.Equal($"The model directory {directory.FullName} has no tokenizer.json.", error.Message);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("{\"model\":{\"type\":\"Nonsense\",\"vocab\":{\"a\":0}},\"added_tokens\":[]}", "Hugging Face tokenizers could not read")]
    [InlineData("{\"version\":\"1.0\"}", "has no model.vocab")]
    [InlineData("not json", "is not JSON")]
    public void AFileTheLibraryCannotReadIsRefusedWithASentenceNamingIt(string content, string expected)
    {
        // Arrange
        var directory = Directory.CreateTempSubdirectory("model-");
        try
        {
            var file = Path.Combine(directory.FullName, HuggingFaceTokenizer.FileName);
            File.WriteAllText(file, content);

            // Act
            var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizer.Load(file));

            // Assert
            Assert.Contains(file, error.Message);
            Assert.Contains(expected, error.Message);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task DecodingAnIdOutsideTheVocabularyIsRefused()
    {
        // Arrange
        await TokenizerReference.InstallAsync();
        using var tokenizer = HuggingFaceTokenizer.Load(TokenizerReference.ModelDirectory("llama3"));

        // Act
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([9906, tokenizer.Vocabulary.Size]));

        // Assert
        Assert.Contains($"Id {tokenizer.Vocabulary.Size} is not in the vocabulary", error.Message);
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    public async Task ByteSpansTileTheTextAndEveryTokenSpellsItsBytes(string model)
    {
        // Arrange
        await TokenizerReference.InstallAsync();
        using var tokenizer = HuggingFaceTokenizer.Load(TokenizerReference.ModelDirectory(model));
        string[] texts = [.. TokenizerTexts.Varied, .. TokenizerTexts.Fortunes(100)];

        // Act
        var spans = texts.Select(tokenizer.EncodeWithSpans).ToArray();

        // Assert
        for (var i = 0; i < texts.Length; i++)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(texts[i]);
            var (ids, starts, ends) = (spans[i].Ids, spans[i].Starts, spans[i].Ends);
            Assert.Equal(tokenizer.Encode(texts[i]), ids);
            var at = 0;
            for (var j = 0; j < ids.Length; j++)
            {
                Assert.True(starts[j] == at, $"{Quote(texts[i])}: token {j} starts at byte {starts[j]}, not where the one before ended ({at})");
                Assert.Equal(tokenizer.Vocabulary.BytesOf(ids[j]).ToArray(), bytes[starts[j]..ends[j]]);
                at = ends[j];
            }
            Assert.Equal(bytes.Length, at);
        }
        Assert.Contains(spans, s => s.Ids.Length > 0 && s.Ends.Zip(s.Starts).Any(p => p.First - p.Second > 1)); // tokens of several bytes were checked
    }

    [Fact]
    public async Task ATextTheNormalizerChangesHasNoByteSpansAndSaysWhy()
    {
        // Arrange: Qwen's normalizer (NFC) composes the letter, so its tokens spell other bytes than the text's.
        await TokenizerReference.InstallAsync();
        using var tokenizer = HuggingFaceTokenizer.Load(TokenizerReference.ModelDirectory("qwen3"));

        // Act
        var error = Assert.Throws<InvalidDataException>(() => tokenizer.EncodeWithSpans(TokenizerTexts.Decomposed));

        // Assert
        Assert.Contains("do not spell its bytes (its normalizer changes the text)", error.Message);
        Assert.Equal(tokenizer.Encode(TokenizerTexts.DecomposedComposed), tokenizer.EncodeWithSpans(TokenizerTexts.DecomposedComposed).Ids);
    }

    [Fact]
    public async Task ASentencePieceTokenizerCannotGiveByteSpans()
    {
        // Arrange
        await TokenizerReference.InstallAsync();
        using var tokenizer = HuggingFaceTokenizer.Load(TokenizerReference.ModelDirectory("llama2"));

        // Act
        var error = Assert.Throws<InvalidDataException>(() => tokenizer.EncodeWithSpans("Hello world"));

        // Assert
        Assert.False(tokenizer.Vocabulary.IsByteLevel);
        Assert.Contains("is not a byte-level BPE tokenizer", error.Message);
    }

    private static JsonNode Reversed(JsonNode node) => node switch
    {
        JsonObject o => new JsonObject(o.Reverse().Select(p => KeyValuePair.Create(p.Key, p.Value is null ? null : Reversed(p.Value.DeepClone())))),
        JsonArray a => new JsonArray(a.Select(e => e is null ? null : Reversed(e.DeepClone())).ToArray()),
        _ => node.DeepClone(),
    };

    private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text);
}
