using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace TeacherStudent.Distillation.Text;

/// <summary>
/// A byte-level BPE tokenizer (GPT-2 style). Text is cut into pieces by <see cref="PreSplit"/>,
/// each piece becomes its UTF-8 bytes (ids 0-255, id = byte value), and the learnt merges are
/// applied within the piece in the order they were learnt. Id 256 is
/// <see cref="EndOfText"/>, which separates and terminates entries; merge <c>k</c> (from 0)
/// makes id <c>257 + k</c>. Any well-formed string round-trips through
/// <see cref="Encode"/> and <see cref="Decode"/>, whether or not the training text had its
/// characters (strings with unpaired surrogates are not well-formed UTF-16: those become U+FFFD).
/// Safe to use from several threads.
/// </summary>
public sealed class BpeTokenizer : ITokenizer
{
    /// <summary>Ids 0-255 are the bytes themselves.</summary>
    public const int ByteTokens = 256;

    /// <summary>The id of <see cref="EndOfText"/>, the same in every tokenizer of this kind.</summary>
    public const int EndOfTextId = 256;

    /// <summary>What <see cref="Decode"/> writes for <see cref="EndOfText"/>. Text that spells it is encoded as plain text.</summary>
    public const string EndOfTextMarker = "<|endoftext|>";

    /// <summary>The id of the first merge; merge k makes id FirstMergeId + k.</summary>
    public const int FirstMergeId = EndOfTextId + 1;

    private const int CacheCapacity = 1 << 17; // pieces; English text needs far fewer, a service fed odd input stops adding there

    private readonly (int Left, int Right)[] merges;
    private readonly Dictionary<(int Left, int Right), int> mergedIds;
    private readonly byte[][] tokenBytes;
    private readonly ConcurrentDictionary<string, int[]> cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> cacheBySpan;
    private int cached;

    /// <summary>
    /// A tokenizer from its merges, in the order they were learnt. Each merge joins two
    /// existing ids (bytes or earlier merges, never <see cref="EndOfText"/>) into the next id.
    /// </summary>
    public BpeTokenizer(IEnumerable<(int Left, int Right)> merges)
    {
        this.merges = [.. merges];
        mergedIds = new Dictionary<(int, int), int>(this.merges.Length);
        tokenBytes = new byte[FirstMergeId + this.merges.Length][];
        for (int b = 0; b < ByteTokens; b++) tokenBytes[b] = [(byte)b];
        tokenBytes[EndOfTextId] = Encoding.UTF8.GetBytes(EndOfTextMarker);
        for (int k = 0; k < this.merges.Length; k++)
        {
            var (left, right) = this.merges[k];
            int id = FirstMergeId + k;
            if (!IsMergeable(left, id) || !IsMergeable(right, id))
                throw new ArgumentException($"merge {k} ({left}, {right}) must join two byte or earlier merge ids, below {id} and not {EndOfTextId}.");
            if (!mergedIds.TryAdd((left, right), id))
                throw new ArgumentException($"merge {k} ({left}, {right}) repeats merge {mergedIds[(left, right)] - FirstMergeId}.");
            tokenBytes[id] = [.. tokenBytes[left], .. tokenBytes[right]];
        }
        cacheBySpan = cache.GetAlternateLookup<ReadOnlySpan<char>>();
        Digest = ComputeDigest();
    }

    /// <summary>Number of ids: 256 bytes, <see cref="EndOfText"/>, and one per merge.</summary>
    public int VocabularySize => tokenBytes.Length;

    /// <summary>The id that ends an entry (256).</summary>
    public int EndOfText => EndOfTextId;

    /// <summary>The merges, in the order they were learnt (and are applied).</summary>
    public IReadOnlyList<(int Left, int Right)> Merges => merges;

    /// <summary>
    /// First 16 hex digits of the SHA-256 of <see cref="CanonicalForm"/>: tokenizers that
    /// encode alike have the same digest, whatever file they were loaded from.
    /// </summary>
    public string Digest { get; }

    /// <summary>
    /// The text the digest is taken over (UTF-8, <c>\n</c> after every line): a header line,
    /// <c>pattern &lt;pre-split regex&gt;</c>, <c>end-of-text 256 &lt;|endoftext|&gt;</c>, then
    /// <c>merge &lt;left&gt; &lt;right&gt;</c> per merge in order. Easy to rebuild in any language.
    /// </summary>
    public string CanonicalForm
    {
        get
        {
            var text = new StringBuilder();
            text.Append("TeacherStudent byte-level BPE v1\n");
            text.Append("pattern ").Append(PreSplit.Pattern).Append('\n');
            text.Append("end-of-text ").Append(EndOfTextId).Append(' ').Append(EndOfTextMarker).Append('\n');
            foreach (var (left, right) in merges) text.Append("merge ").Append(left).Append(' ').Append(right).Append('\n');
            return text.ToString();
        }
    }

    /// <summary>The ids of <paramref name="text"/>, without <see cref="EndOfText"/>.</summary>
    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 1);
        AppendEncoded(text, ids);
        return [.. ids];
    }

    /// <summary>The ids of every entry, each followed by <see cref="EndOfText"/>: a corpus as one stream for a language model.</summary>
    public int[] EncodeEntries(IEnumerable<string> entries)
    {
        var ids = new List<int>();
        foreach (var entry in entries)
        {
            AppendEncoded(entry, ids);
            ids.Add(EndOfTextId);
        }
        return [.. ids];
    }

    /// <summary>The text of <paramref name="ids"/>; <see cref="EndOfText"/> is written as <see cref="EndOfTextMarker"/>.
    /// Ids that end inside a multi-byte character give U+FFFD for it.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        int length = 0;
        foreach (var id in ids) length += BytesOf(id).Length;
        var bytes = new byte[length];
        int at = 0;
        foreach (var id in ids)
        {
            var token = BytesOf(id);
            token.CopyTo(bytes.AsSpan(at));
            at += token.Length;
        }
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>The bytes id <paramref name="id"/> stands for.</summary>
    public ReadOnlySpan<byte> BytesOf(int id) =>
        (uint)id < (uint)tokenBytes.Length
            ? tokenBytes[id]
            : throw new ArgumentOutOfRangeException(nameof(id), id, $"token ids run from 0 to {tokenBytes.Length - 1}.");

    /// <summary>Writes the tokenizer into <paramref name="directory"/> as a Hugging Face tokenizer.json (see <see cref="ByteLevelBpeJson"/>).</summary>
    public string Save(string directory) => ByteLevelBpeJson.Save(directory, this);

    /// <summary>
    /// Replaces every occurrence of <paramref name="pair"/> in <paramref name="symbols"/>, left
    /// to right and without overlap (<c>a a a</c> with <c>(a, a)</c> gives <c>aa a</c>), by
    /// <paramref name="merged"/>; returns the new length. Training and encoding both merge this way.
    /// </summary>
    internal static int ReplacePair(Span<int> symbols, (int Left, int Right) pair, int merged)
    {
        int write = 0;
        for (int read = 0; read < symbols.Length; read++)
        {
            if (read + 1 < symbols.Length && symbols[read] == pair.Left && symbols[read + 1] == pair.Right)
            {
                symbols[write++] = merged;
                read++;
            }
            else
            {
                symbols[write++] = symbols[read];
            }
        }
        return write;
    }

    private void AppendEncoded(string text, List<int> ids)
    {
        foreach (var piece in PreSplit.Pieces(text)) ids.AddRange(EncodePiece(text.AsSpan(piece)));
    }

    private int[] EncodePiece(ReadOnlySpan<char> piece)
    {
        if (cacheBySpan.TryGetValue(piece, out var known)) return known;
        var symbols = new int[Encoding.UTF8.GetByteCount(piece)];
        Span<byte> bytes = symbols.Length <= 256 ? stackalloc byte[symbols.Length] : new byte[symbols.Length];
        Encoding.UTF8.GetBytes(piece, bytes);
        for (int i = 0; i < bytes.Length; i++) symbols[i] = bytes[i];

        // Applying the earliest-learnt merge present, again and again, is the same as applying
        // all merges in learning order: a merge only makes pairs that later merges can join.
        int length = symbols.Length;
        while (length > 1)
        {
            int earliest = int.MaxValue;
            for (int i = 0; i + 1 < length; i++)
            {
                if (mergedIds.TryGetValue((symbols[i], symbols[i + 1]), out var id) && id < earliest) earliest = id;
            }
            if (earliest == int.MaxValue) break;
            length = ReplacePair(symbols.AsSpan(0, length), merges[earliest - FirstMergeId], earliest);
        }
        var encoded = symbols[..length];
        if (Volatile.Read(ref cached) < CacheCapacity && cacheBySpan.TryAdd(piece, encoded)) Interlocked.Increment(ref cached);
        return encoded;
    }

    private static bool IsMergeable(int id, int next) => id >= 0 && id < next && id != EndOfTextId;

    private string ComputeDigest() =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(CanonicalForm)))[..16];
}
