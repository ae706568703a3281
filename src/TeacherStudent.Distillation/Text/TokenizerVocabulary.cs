using System.Buffers;
using System.Globalization;
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
        tokenBytes = new Lazy<byte[]?[]?>(ReadTokenBytes);
        byteLengths = new Lazy<IReadOnlyList<int>?>(() => TokenBytes?.Select(b => b?.Length ?? 0).ToArray());
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

    /// <summary>
    /// True when every token of the model spells bytes as byte-level BPE does (GPT-2, Llama 3, Qwen and the
    /// project's own tokenizers): then <see cref="BytesOf"/> knows the exact bytes of text every id stands for.
    /// SentencePiece-style vocabularies (<c>▁</c> for a space, <c>&lt;0x0A&gt;</c> for a byte) are not.
    /// </summary>
    public bool IsByteLevel => TokenBytes is not null;

    /// <summary>
    /// The bytes of text id <paramref name="id"/> stands for: a model token's bytes, an added token's
    /// content in UTF-8. Only for a byte-level vocabulary (<see cref="IsByteLevel"/>), and only for ids it has.
    /// </summary>
    public ReadOnlySpan<byte> BytesOf(int id) =>
        TokenBytes is not { } bytes ? throw new InvalidOperationException("this vocabulary is not byte-level: its tokens do not spell bytes.")
        : id >= 0 && id < bytes.Length && bytes[id] is { } token ? token
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"id {id} is not in the vocabulary ({bytes.Length} ids).");

    /// <summary>The number of bytes of text each id spells (0 for an id the vocabulary lacks); null when the vocabulary is not byte-level.</summary>
    public IReadOnlyList<int>? ByteLengths => byteLengths.Value;

    private readonly Lazy<IReadOnlyList<int>?> byteLengths;

    private byte[]?[]? TokenBytes => tokenBytes.Value;

    private readonly Lazy<byte[]?[]?> tokenBytes;

    private byte[]?[]? ReadTokenBytes()
    {
        var bytes = new byte[]?[tokens.Length];
        for (var id = 0; id < tokens.Length; id++)
        {
            if (tokens[id] is not { } token) continue;
            if (AddedIds.Contains(id)) bytes[id] = Encoding.UTF8.GetBytes(token);
            else if ((bytes[id] = ByteLevelBpeJson.Unspell(token)) is null) return null;
        }
        return bytes;
    }

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

    /// <summary>
    /// Reads the vocabulary of a <c>tokenizer.json</c>; fails with a sentence naming the file when it is not JSON or
    /// has no vocabulary. The file is read as a stream of JSON tokens, keeping only <c>model.vocab</c> and
    /// <c>added_tokens</c>: a document of the whole file (Qwen3's is 11 MB, most of it merges) took 0.5 s of a
    /// model's load.
    /// </summary>
    public static TokenizerVocabulary Read(string tokenizerJsonPath)
    {
        ReadOnlySpan<byte> file = File.ReadAllBytes(tokenizerJsonPath);
        if (file.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) file = file[3..]; // a UTF-8 byte order mark, as JsonDocument allows
        List<(int Id, string Token)>? entries = null;
        var added = new List<AddedToken>();
        try
        {
            var reader = new Utf8JsonReader(file, new JsonReaderOptions { MaxDepth = 256 });
            Expect(ref reader, JsonTokenType.StartObject);
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("model"u8)) entries = ReadModel(ref reader, tokenizerJsonPath) ?? entries;
                else if (reader.ValueTextEquals("added_tokens"u8)) ReadAddedTokens(ref reader, added, tokenizerJsonPath);
                else SkipValue(ref reader);
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{tokenizerJsonPath} is not JSON ({e.Message}).", e);
        }
        if (entries is null)
            throw new InvalidDataException($"{tokenizerJsonPath} has no model.vocab: not a Hugging Face tokenizer.json.");

        added.Sort((a, b) => a.Id.CompareTo(b.Id));
        if (entries.Any(e => e.Id < 0) || (added.Count > 0 && added[0].Id < 0))
            throw new InvalidDataException($"{tokenizerJsonPath} gives a token a negative id.");

        // The model's entries by id (the last of a repeated id wins), then the added tokens.
        var modelSize = entries.Count == 0 ? 0 : entries.Max(e => e.Id) + 1;
        var modelTokens = new string?[modelSize];
        foreach (var (id, token) in entries) modelTokens[id] = token;
        var tokens = new string?[Math.Max(modelSize, added.Count == 0 ? 0 : added[^1].Id + 1)];
        modelTokens.CopyTo(tokens, 0);
        foreach (var token in added) tokens[token.Id] = token.Content; // an added token that is also in the model's vocabulary reads as the added one
        return new TokenizerVocabulary(tokens, added, DigestOf(modelTokens, added));
    }

    // "model": {..., "vocab": ..., ...}: the vocabulary's entries, or null when the object has none.
    private static List<(int Id, string Token)>? ReadModel(ref Utf8JsonReader reader, string path)
    {
        if (Next(ref reader) != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }
        List<(int Id, string Token)>? entries = null;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (!reader.ValueTextEquals("vocab"u8))
            {
                SkipValue(ref reader);
                continue;
            }
            entries = [];
            switch (Next(ref reader))
            {
                case JsonTokenType.StartObject:
                    // BPE, WordPiece and WordLevel: {"token": id, ...}.
                    while (Next(ref reader) == JsonTokenType.PropertyName)
                    {
                        var token = reader.GetString()!;
                        if (Next(ref reader) != JsonTokenType.Number || !reader.TryGetInt32(out var id))
                            throw new InvalidDataException($"{path}: model.vocab gives the token {token} an id that is not a whole number.");
                        entries.Add((id, token));
                    }
                    break;
                case JsonTokenType.StartArray:
                    // Unigram (SentencePiece): [["piece", score], ...], the id is the position.
                    while (Next(ref reader) == JsonTokenType.StartArray)
                    {
                        var first = Next(ref reader);
                        entries.Add((entries.Count, first == JsonTokenType.String ? reader.GetString()! : ""));
                        if (first == JsonTokenType.EndArray) continue;
                        reader.Skip();
                        while (Next(ref reader) != JsonTokenType.EndArray) reader.Skip();
                    }
                    break;
                default:
                    throw new InvalidDataException($"{path}: model.vocab is neither an object nor an array.");
            }
        }
        return entries;
    }

    // "added_tokens": [{"id": ..., "content": ..., "special": ...}, ...]; anything but an array is passed over.
    private static void ReadAddedTokens(ref Utf8JsonReader reader, List<AddedToken> added, string path)
    {
        if (Next(ref reader) != JsonTokenType.StartArray)
        {
            reader.Skip();
            return;
        }
        while (Next(ref reader) == JsonTokenType.StartObject)
        {
            int? id = null;
            string? content = null;
            var special = false;
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                    id = Next(ref reader) == JsonTokenType.Number && reader.TryGetInt32(out var value) ? value
                        : throw new InvalidDataException($"{path}: an added token's id is not a whole number.");
                else if (reader.ValueTextEquals("content"u8)) content = ReadString(ref reader);
                else if (reader.ValueTextEquals("special"u8)) special = Next(ref reader) == JsonTokenType.True;
                else SkipValue(ref reader);
            }
            if (id is null) throw new InvalidDataException($"{path}: an added token has no id.");
            added.Add(new AddedToken(id.Value, content ?? throw new InvalidDataException($"{path}: the added token {id} has no content."), special));
        }
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new JsonException("the file ends before its JSON does");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (Next(ref reader) != type) throw new JsonException($"expected {type}, found {reader.TokenType}");
    }

    // After a property name: passes over its value, whatever it is.
    private static void SkipValue(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        reader.Skip();
    }

    // After a property name: its string value; "" for null or anything else, as JsonElement.GetString() ?? "" read it.
    private static string ReadString(ref Utf8JsonReader reader)
    {
        if (Next(ref reader) == JsonTokenType.String) return reader.GetString()!;
        reader.Skip();
        return "";
    }

    private static string DigestOf(string?[] model, List<AddedToken> added)
    {
        // One line per entry, strings JSON-escaped (as JsonSerializer writes a string) so no token can forge a
        // line break or a separator; written into one buffer and hashed 64 KB at a time.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new ArrayBufferWriter<byte>(ChunkBytes + 4096);
        using var json = new Utf8JsonWriter(buffer);
        void Text(string text) => Encoding.UTF8.GetBytes(text, buffer);
        void Json(string text)
        {
            json.Reset(buffer);
            json.WriteStringValue(text);
            json.Flush();
        }
        void EndLine()
        {
            buffer.Write("\n"u8);
            if (buffer.WrittenCount < ChunkBytes) return;
            hash.AppendData(buffer.WrittenSpan);
            buffer.ResetWrittenCount();
        }
        Text("vocab");
        EndLine();
        for (var id = 0; id < model.Length; id++)
        {
            if (model[id] is not { } token) continue;
            Text(id.ToString(CultureInfo.InvariantCulture));
            Text("\t");
            Json(token);
            EndLine();
        }
        Text("added");
        EndLine();
        foreach (var token in added)
        {
            Text(token.Id.ToString(CultureInfo.InvariantCulture));
            Text("\t");
            Json(token.Content);
            Text(token.Special ? "\tspecial" : "\tnormal");
            EndLine();
        }
        hash.AppendData(buffer.WrittenSpan);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private const int ChunkBytes = 64 * 1024;
}

/// <summary>A token the tokenizer matches in text before its model runs; <paramref name="Special"/> tokens are the control tokens (bos, eos, chat markers).</summary>
public sealed record AddedToken(int Id, string Content, bool Special);
