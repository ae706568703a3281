using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TeacherStudent.Distillation.Models;

namespace TeacherStudent.Distillation.Text;

/// <summary>
/// Writes a <see cref="BpeTokenizer"/> as a Hugging Face <c>tokenizer.json</c> that encodes exactly
/// as it does: GPT-2's byte-level BPE (a ByteLevel pre-tokenizer with GPT-2's pattern, the same as
/// <see cref="PreSplit"/>; no normalizer; bytes spelled as GPT-2's printable characters; the merges in
/// learning order as ranks; <c>&lt;|endoftext|&gt;</c> as a special added token with id 256, which a template
/// post-processor puts before every text, as the project's models read texts after one). Any tool
/// that reads Hugging Face tokenizers (transformers, vLLM, tokenizers.js, this project's
/// <see cref="HuggingFaceTokenizer"/>) then reads the project's own models' tokenizers.
/// </summary>
public static class ByteLevelBpeJson
{
    /// <summary>
    /// Writes <paramref name="tokenizer"/> into <paramref name="directory"/> as <c>tokenizer.json</c> and a
    /// <c>tokenizer_config.json</c> naming <c>&lt;|endoftext|&gt;</c> as its bos and eos token (every text
    /// is read after one and ends with one); returns the directory.
    /// </summary>
    public static string Save(string directory, BpeTokenizer tokenizer)
    {
        Directory.CreateDirectory(directory);
        Write(Path.Combine(directory, HuggingFaceTokenizer.FileName), tokenizer);
        var config = new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = BpeTokenizer.EndOfTextMarker,
            ["eos_token"] = BpeTokenizer.EndOfTextMarker,
            ["unk_token"] = null,
            ["pad_token"] = null,
            ["add_prefix_space"] = false,
        };
        var bytes = Encoding.UTF8.GetBytes(config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Checkpoint.WriteAtomically(Path.Combine(directory, "tokenizer_config.json"), writer => writer.Write(bytes));
        return directory;
    }

    /// <summary>Writes <paramref name="tokenizer"/> to <paramref name="path"/> (a tokenizer.json), atomically.</summary>
    /// <exception cref="InvalidOperationException">two ids spell the same bytes, which a tokenizer.json vocabulary cannot hold.</exception>
    public static void Write(string path, BpeTokenizer tokenizer)
    {
        var bytes = Encoding.UTF8.GetBytes(ToJson(tokenizer).ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
        Checkpoint.WriteAtomically(path, writer => writer.Write(bytes));
    }

    /// <summary>The <c>tokenizer.json</c> document of <paramref name="tokenizer"/>.</summary>
    public static JsonObject ToJson(BpeTokenizer tokenizer)
    {
        var vocabulary = new JsonObject();
        var spelled = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < tokenizer.VocabularySize; id++)
        {
            // The marker is in the model's vocabulary as well as an added token: the tokenizers library takes
            // an added token's id from the vocabulary, and would otherwise give it the next free id.
            var spelling = id == BpeTokenizer.EndOfTextId ? BpeTokenizer.EndOfTextMarker : Spell(tokenizer.BytesOf(id));
            if (!spelled.TryAdd(spelling, id))
                throw new InvalidOperationException($"ids {spelled[spelling]} and {id} spell the same bytes; a tokenizer.json vocabulary holds one id per token.");
            vocabulary[spelling] = id;
        }
        var merges = new JsonArray(tokenizer.Merges.Select(m => (JsonNode)$"{Spell(tokenizer.BytesOf(m.Left))} {Spell(tokenizer.BytesOf(m.Right))}").ToArray());
        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(new JsonObject
            {
                ["id"] = BpeTokenizer.EndOfTextId,
                ["content"] = BpeTokenizer.EndOfTextMarker,
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = true,
            }),
            ["normalizer"] = null,
            ["pre_tokenizer"] = byteLevel,
            // Every text starts with <|endoftext|>, as the model reads texts in training: the tokenizer adds it, as
            // Llama's adds its bos, so transformers and vLLM prompt the model as this project does.
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(Special(), Sequence("A")),
                ["pair"] = new JsonArray(Special(), Sequence("A"), Sequence("B")),
                ["special_tokens"] = new JsonObject
                {
                    [BpeTokenizer.EndOfTextMarker] = new JsonObject
                    {
                        ["id"] = BpeTokenizer.EndOfTextMarker,
                        ["ids"] = new JsonArray(BpeTokenizer.EndOfTextId),
                        ["tokens"] = new JsonArray(BpeTokenizer.EndOfTextMarker),
                    },
                },
            },
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = false,
                ["vocab"] = vocabulary,
                ["merges"] = merges,
            },
        };
    }

    private static JsonObject Special() => new() { ["SpecialToken"] = new JsonObject { ["id"] = BpeTokenizer.EndOfTextMarker, ["type_id"] = 0 } };

    private static JsonObject Sequence(string id) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = 0 } };

    /// <summary>Bytes as GPT-2 spells them: printable Latin-1 bytes as themselves, the others as the characters from U+0100 on.</summary>
    public static string Spell(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        foreach (var b in bytes) text.Append(ByteCharacters[b]);
        return text.ToString();
    }

    /// <summary>
    /// The bytes a byte-level token string spells (the inverse of <see cref="Spell"/>), or null when a
    /// character of it is not one of the 256 that stand for bytes (the token is not byte-level).
    /// </summary>
    public static byte[]? Unspell(string token)
    {
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            var c = token[i];
            if (c >= ByteOfCharacter.Length || ByteOfCharacter[c] < 0) return null;
            bytes[i] = (byte)ByteOfCharacter[c];
        }
        return bytes;
    }

    private static readonly char[] ByteCharacters = BuildByteCharacters();

    private static readonly short[] ByteOfCharacter = BuildByteOfCharacter();

    private static short[] BuildByteOfCharacter()
    {
        var bytes = new short[ByteCharacters.Max() + 1];
        Array.Fill(bytes, (short)-1);
        for (short b = 0; b < 256; b++) bytes[ByteCharacters[b]] = b;
        return bytes;
    }

    private static char[] BuildByteCharacters()
    {
        static bool Printable(int b) => b is >= '!' and <= '~' or >= '¡' and <= '¬' or >= '®' and <= 'ÿ';
        var characters = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) characters[b] = Printable(b) ? (char)b : (char)next++;
        return characters;
    }
}
