using System.Text;
using Tokenizers.DotNet;

namespace TeacherStudent.Distillation.Text;

/// <summary>
/// A model's own tokenizer, read from its Hugging Face <c>tokenizer.json</c> and run by Hugging
/// Face's Rust <c>tokenizers</c> library (through Tokenizers.DotNet), so the file's normalizer,
/// pre-tokenizer pattern, model (byte-level BPE as in Llama 3 and Qwen, or SentencePiece-style
/// with byte fallback), decoder and added tokens all behave exactly as in transformers.
/// <see cref="Encode"/> does what Hugging Face does by default (<c>add_special_tokens=True</c>, the only
/// way the wrapper encodes): special tokens written in the text become their ids, and the file's
/// post-processor adds what it adds around the text (Llama 2 files a <c>&lt;s&gt;</c> first; Qwen files nothing).
/// Safe to use from several threads.
/// </summary>
public sealed class HuggingFaceTokenizer : ITokenizer, IDisposable
{
    /// <summary>The file a Hugging Face model directory keeps its tokenizer in.</summary>
    public const string FileName = "tokenizer.json";

    private readonly Tokenizer native;
    private readonly Lock gate = new(); // the wrapper documents no thread safety for its native handle

    private HuggingFaceTokenizer(string path, Tokenizer native, TokenizerVocabulary vocabulary)
    {
        Path = path;
        this.native = native;
        Vocabulary = vocabulary;
    }

    /// <summary>The <c>tokenizer.json</c> this was read from.</summary>
    public string Path { get; }

    /// <summary>Token strings, added tokens and the content digest.</summary>
    public TokenizerVocabulary Vocabulary { get; }

    /// <summary>The content digest of the vocabulary: equal for two tokenizers whose ids mean the same tokens.</summary>
    public string Digest => Vocabulary.Digest;

    /// <inheritdoc/>
    public int VocabularySize => Vocabulary.Size;

    /// <summary>
    /// Reads <paramref name="path"/>: a <c>tokenizer.json</c>, or a model directory holding one.
    /// A missing or unreadable file fails with one sentence naming it.
    /// </summary>
    public static HuggingFaceTokenizer Load(string path)
    {
        var file = Directory.Exists(path) ? System.IO.Path.Combine(path, FileName) : path;
        if (!File.Exists(file))
            throw new FileNotFoundException(Directory.Exists(path)
                ? $"The model directory {path} has no {FileName}."
                : $"No tokenizer file at {path} (give a {FileName} or a model directory holding one).", file);
        var vocabulary = TokenizerVocabulary.Read(file);
        Tokenizer native;
        try
        {
            native = new Tokenizer(file);
        }
        catch (TokenizerException e)
        {
            throw new InvalidDataException($"Hugging Face tokenizers could not read {file}: {e.Message}", e);
        }
        return new HuggingFaceTokenizer(file, native, vocabulary);
    }

    /// <summary>The ids of <paramref name="text"/> as Hugging Face gives them by default: special tokens written in it become their ids, the post-processor's tokens are added.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        uint[] ids;
        lock (gate) ids = native.Encode(text);
        return Array.ConvertAll(ids, id => checked((int)id));
    }

    /// <summary>
    /// The ids of <paramref name="text"/> (as <see cref="Encode"/>) with the bytes of its UTF-8 each token
    /// covers: token i is bytes [Starts[i], Ends[i]). A token the post-processor adds (a <c>&lt;s&gt;</c>
    /// first) covers no bytes. For byte-level vocabularies only, whose tokens spell their bytes
    /// exactly; a tokenizer whose normalizer changes the text (so its tokens do not spell the text's
    /// bytes) fails with one sentence, as does a vocabulary that is not byte-level.
    /// </summary>
    public TokenSpans EncodeWithSpans(string text)
    {
        if (!Vocabulary.IsByteLevel)
            throw new InvalidDataException($"{Path} is not a byte-level BPE tokenizer (its tokens do not spell bytes): the bytes of text its tokens cover are not known.");
        var ids = Encode(text);
        var bytes = Encoding.UTF8.GetBytes(text);
        var starts = new int[ids.Length];
        var ends = new int[ids.Length];
        var at = 0;
        for (var i = 0; i < ids.Length; i++)
        {
            var token = Vocabulary.BytesOf(ids[i]);
            starts[i] = at;
            if (bytes.AsSpan(at).StartsWith(token)) at += token.Length;
            else if (!Vocabulary.AddedIds.Contains(ids[i])) throw NotSpelled(text);
            // else: an added token the text does not hold here, put in by the post-processor: it covers no bytes.
            ends[i] = at;
        }
        if (at != bytes.Length) throw NotSpelled(text);
        return new TokenSpans(ids, starts, ends);
    }

    private InvalidDataException NotSpelled(string text) =>
        new($"the tokens {Path} gives for a text of {text.Length} characters do not spell its bytes (its normalizer changes the text): their byte spans are not known.");

    /// <summary>The token strings of <paramref name="ids"/> as the file spells them (<c>Ġ</c> for a byte-level space); <c>null</c> for an id outside the vocabulary.</summary>
    public string?[] Tokens(IReadOnlyList<int> ids)
    {
        var tokens = new string?[ids.Count];
        for (var i = 0; i < ids.Count; i++) tokens[i] = Vocabulary.TokenOf(ids[i]);
        return tokens;
    }

    /// <summary>
    /// The text of <paramref name="ids"/>, special tokens included (as <c>skip_special_tokens=False</c>),
    /// so that <c>Decode(Encode(text))</c> is the text again (after the normalizer, and with what the post-processor added). The native decoder skips
    /// special tokens, so runs between added tokens are decoded by it and the added tokens written as they are.
    /// </summary>
    public string Decode(IReadOnlyList<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var text = new StringBuilder();
        var run = new List<uint>();
        foreach (var id in ids)
        {
            if (id < 0 || id >= Vocabulary.Size || Vocabulary.TokenOf(id) is null)
                throw new ArgumentOutOfRangeException(nameof(ids), $"Id {id} is not in the vocabulary of {Path} ({Vocabulary.Size} ids).");
            if (Vocabulary.AddedIds.Contains(id))
            {
                DecodeRun(run, text);
                text.Append(Vocabulary.TokenOf(id));
            }
            else
            {
                run.Add((uint)id);
            }
        }
        DecodeRun(run, text);
        return text.ToString();
    }

    /// <inheritdoc/>
    string ITokenizer.Decode(ReadOnlySpan<int> ids) => Decode(ids.ToArray());

    private void DecodeRun(List<uint> run, StringBuilder text)
    {
        if (run.Count == 0) return;
        lock (gate) text.Append(native.Decode([.. run]));
        run.Clear();
    }

    /// <inheritdoc/>
    public void Dispose() => native.Dispose();
}

/// <summary>
/// A text's token ids and the bytes of its UTF-8 each covers: token i is bytes [<see cref="Starts"/>[i], <see cref="Ends"/>[i]).
/// </summary>
public sealed record TokenSpans(int[] Ids, int[] Starts, int[] Ends);
