using System.Text.Json;
using System.Text.Json.Nodes;
using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// The control tokens of a language model: where a text begins, the ids that end one (generation
/// stops at any of them), padding, and what a prompt starts with before its own tokens.
/// </summary>
/// <param name="BeginOfSequence">The bos id, when the model has one.</param>
/// <param name="EndOfSequence">The ids that end a text (Llama 3 instruct models have several); the first is the main one.</param>
/// <param name="Padding">The pad id, when the model names one.</param>
public sealed record SpecialTokens(int? BeginOfSequence, IReadOnlyList<int> EndOfSequence, int? Padding)
{
    /// <summary>
    /// The ids of every entry as the tokenizer encodes it (with what its post-processor adds, e.g. a bos), each
    /// followed by the main end-of-sequence id: texts as one stream, as a language model is trained on them. When
    /// an entry starts with the id that ended the one before (a tokenizer whose bos is its eos, as the project's
    /// own), that id is kept once.
    /// </summary>
    public int[] EncodeEntries(ITokenizer tokenizer, IEnumerable<string> entries)
    {
        var end = EndOfSequence.Count > 0 ? EndOfSequence[0]
            : throw new InvalidOperationException("the tokenizer has no end-of-sequence token to separate texts with (name one as eos_token in tokenizer_config.json).");
        var ids = new List<int>();
        foreach (var entry in entries)
        {
            var encoded = tokenizer.Encode(entry);
            ids.AddRange(ids.Count > 0 && encoded.Length > 0 && encoded[0] == end ? encoded.AsSpan(1) : encoded);
            ids.Add(end);
        }
        return [.. ids];
    }

    /// <summary>The special tokens of the tokenizer at <paramref name="source"/> (a model directory or a tokenizer.json), read from the files beside it.</summary>
    public static SpecialTokens Of(string source, HuggingFaceTokenizer tokenizer) =>
        Read(Directory.Exists(source) ? source : Path.GetDirectoryName(Path.GetFullPath(source))!, tokenizer);

    /// <summary>
    /// Reads a Hugging Face model directory's special tokens as transformers would use them:
    /// bos and pad from <c>tokenizer_config.json</c> (as token strings) or the config's ids; the ids
    /// that end generation from <c>generation_config.json</c>, else <c>config.json</c>, else the
    /// tokenizer config's eos token. Files that are absent are skipped; an id outside the vocabulary is refused.
    /// </summary>
    public static SpecialTokens Read(string directory, HuggingFaceTokenizer tokenizer)
    {
        var vocabulary = tokenizer.Vocabulary;
        var tokenizerConfig = ReadObject(Path.Combine(directory, "tokenizer_config.json"));
        var generationConfig = ReadObject(Path.Combine(directory, "generation_config.json"));
        var config = ReadObject(Path.Combine(directory, LlamaConfig.FileName));

        int? TokenId(string key) => TokenString(tokenizerConfig?[key]) is { } token ? vocabulary.IdOf(token) : null;
        var bos = TokenId("bos_token") ?? FirstId(generationConfig?["bos_token_id"]) ?? FirstId(config?["bos_token_id"]);
        var pad = TokenId("pad_token") ?? FirstId(generationConfig?["pad_token_id"]) ?? FirstId(config?["pad_token_id"]);
        var eos = Ids(generationConfig?["eos_token_id"]);
        if (eos.Count == 0) eos = Ids(config?["eos_token_id"]);
        if (eos.Count == 0 && TokenId("eos_token") is { } eosId) eos = [eosId];

        int?[] named = [bos, pad, .. eos.Select(id => (int?)id)];
        foreach (var id in named)
            if (id is < 0 || id >= vocabulary.Size)
                throw new InvalidDataException($"{directory}: special token id {id} is outside the tokenizer's {vocabulary.Size} ids.");
        return new SpecialTokens(bos, eos, pad);
    }

    private static JsonObject? ReadObject(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject ?? throw new InvalidDataException($"{path} is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {e.Message}", e);
        }
    }

    // A token in tokenizer_config.json is a string, or an object with its "content" (AddedToken's form).
    private static string? TokenString(JsonNode? node) => node switch
    {
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        JsonObject added => (string?)added["content"],
        _ => null,
    };

    private static int? FirstId(JsonNode? node) => Ids(node) is [var first, ..] ? first : null;

    private static List<int> Ids(JsonNode? node) => node switch
    {
        JsonArray list => list.Select(id => (int)id!).ToList(),
        JsonValue value when value.TryGetValue<int>(out var id) => [id],
        _ => [],
    };
}
