using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TeacherStudent.Distillation.Text;

/// <summary>
/// The vocabulary of a Hugging Face <c>tokenizer.json</c>: the model's token strings and the
/// added tokens (special or not), by id. Read by this project rather than the native library
/// because the library gives ids and text only, and the service needs token strings and a
/// digest of the vocabulary's content.
/// </summary>
public sealed class TokenizerVocabulary
{
    private readonly string?[] tokens;

    private TokenizerVocabulary(string?[] tokens, IReadOnlyList<AddedToken> addedTokens, string digest)
    {
        this.tokens = tokens;
        AddedTokens = addedTokens;
        AddedIds = addedTokens.Select(a => a.Id).ToHashSet();
        Digest = digest;
    }

    /// <summary>One past the largest id: the width of the logits a model with this vocabulary has (at least).</summary>
    public int Size => tokens.Length;

    /// <summary>The file's <c>added_tokens</c>, in id order: special tokens and any others matched in text before the model runs.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>
    /// SHA-256 (lowercase hex) of the vocabulary's content: every (id, token string) of the model
    /// and every added token (id, content, whether special), in id order. JSON formatting, key
    /// order and the rest of the file (merges, pre-tokenizer, decoder) do not enter it, so the same
    /// tokenizer saved twice has the same digest; two models whose logits mean the same tokens match.
    /// </summary>
    public string Digest { get; }

    internal IReadOnlySet<int> AddedIds { get; }

    /// <summary>The token string of an id as the file spells it (byte-level files spell a space <c>Ġ</c>), or null for an id the vocabulary lacks.</summary>
    public string? TokenOf(int id) => id >= 0 && id < tokens.Length ? tokens[id] : null;

    /// <summary>The id of a token string as the file spells it (an added token's content, or a vocabulary entry), or null when there is none.</summary>
    public int? IdOf(string token)
    {
        foreach (var added in AddedTokens)
            if (added.Content == token) return added.Id;
        var id = Array.IndexOf(tokens, token);
        return id >= 0 ? id : null;
    }

    /// <summary>Reads the vocabulary of a <c>tokenizer.json</c>; fails with a sentence naming the file when it is not JSON or has no vocabulary.</summary>
    public static TokenizerVocabulary Read(string tokenizerJsonPath)
    {
        using var stream = File.OpenRead(tokenizerJsonPath);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{tokenizerJsonPath} is not JSON ({e.Message}).", e);
        }
        using var _ = document;
        var root = document.RootElement;
        if (!root.TryGetProperty("model", out var model) || !model.TryGetProperty("vocab", out var vocab))
            throw new InvalidDataException($"{tokenizerJsonPath} has no model.vocab: not a Hugging Face tokenizer.json.");

        var byId = new SortedDictionary<int, string>();
        if (vocab.ValueKind == JsonValueKind.Object)
        {
            // BPE, WordPiece and WordLevel: {"token": id, ...}.
            foreach (var entry in vocab.EnumerateObject()) byId[entry.Value.GetInt32()] = entry.Name;
        }
        else if (vocab.ValueKind == JsonValueKind.Array)
        {
            // Unigram (SentencePiece): [["piece", score], ...], the id is the position.
            var id = 0;
            foreach (var entry in vocab.EnumerateArray()) byId[id++] = entry[0].GetString() ?? "";
        }
        else
        {
            throw new InvalidDataException($"{tokenizerJsonPath}: model.vocab is neither an object nor an array.");
        }

        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var addedTokens) && addedTokens.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in addedTokens.EnumerateArray())
            {
                var token = new AddedToken(
                    entry.GetProperty("id").GetInt32(),
                    entry.GetProperty("content").GetString() ?? "",
                    entry.TryGetProperty("special", out var special) && special.ValueKind == JsonValueKind.True);
                added.Add(token);
            }
        }
        added.Sort((a, b) => a.Id.CompareTo(b.Id));

        var size = Math.Max(byId.Count == 0 ? 0 : byId.Keys.Max() + 1, added.Count == 0 ? 0 : added[^1].Id + 1);
        var tokens = new string?[size];
        foreach (var (id, token) in byId) tokens[id] = token;
        foreach (var token in added) tokens[token.Id] = token.Content; // an added token that is also in the model's vocabulary reads as the added one
        return new TokenizerVocabulary(tokens, added, DigestOf(byId, added));
    }

    private static string DigestOf(SortedDictionary<int, string> vocabulary, List<AddedToken> added)
    {
        // One line per entry, strings JSON-escaped so no token can forge a line break or a separator.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Line(string line) => hash.AppendData(Encoding.UTF8.GetBytes(line + "\n"));
        Line("vocab");
        foreach (var (id, token) in vocabulary) Line($"{id}\t{JsonSerializer.Serialize(token)}");
        Line("added");
        foreach (var token in added) Line($"{token.Id}\t{JsonSerializer.Serialize(token.Content)}\t{(token.Special ? "special" : "normal")}");
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}

/// <summary>A token the tokenizer matches in text before its model runs; <paramref name="Special"/> tokens are the control tokens (bos, eos, chat markers).</summary>
public sealed record AddedToken(int Id, string Content, bool Special);
