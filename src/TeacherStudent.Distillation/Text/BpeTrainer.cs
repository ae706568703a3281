using System.Text;

namespace TeacherStudent.Distillation.Text;

/// <summary>
/// Learns the merges of a <see cref="BpeTokenizer"/> from text, as GPT-2's BPE does: texts are
/// cut into pieces (<see cref="PreSplit"/>) and counted; every piece starts as its UTF-8 bytes;
/// then, again and again, the most frequent adjacent pair of ids (counted over all pieces,
/// weighted by how often each piece occurs) becomes a new id, until the vocabulary has the
/// size asked for. Ties go to the smallest (left, right) ids, so training is deterministic.
/// After each merge only the pieces that held the pair are recounted.
/// </summary>
public static class BpeTrainer
{
    /// <summary>
    /// Learns <c>vocabularySize - 257</c> merges from <paramref name="texts"/> (each text on
    /// its own: no merge spans two texts). The vocabulary comes out smaller only when the
    /// texts run out of pairs to merge.
    /// </summary>
    public static BpeTokenizer Train(IEnumerable<string> texts, int vocabularySize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, BpeTokenizer.FirstMergeId);
        var words = CountPieces(texts);
        var counts = new Dictionary<(int Left, int Right), long>();
        var holders = new Dictionary<(int Left, int Right), HashSet<int>>(); // pieces that hold a pair (or once did)
        for (int w = 0; w < words.Count; w++) Count(words[w], w, +1, counts, holders);

        var merges = new List<(int Left, int Right)>();
        // Every token spells other bytes: a pair that would spell an existing token again is never merged,
        // so that the vocabulary can be written as a tokenizer.json (one id per spelling).
        var spellings = new List<string>(Enumerable.Range(0, BpeTokenizer.ByteTokens).Select(b => ((char)b).ToString())) { "" };
        var spelled = new HashSet<string>(spellings, StringComparer.Ordinal);
        var repeats = new HashSet<(int Left, int Right)>();
        while (BpeTokenizer.FirstMergeId + merges.Count < vocabularySize && MostFrequent(counts, repeats) is { } pair)
        {
            var spelling = spellings[pair.Left] + spellings[pair.Right];
            if (!spelled.Add(spelling))
            {
                repeats.Add(pair);
                continue;
            }
            spellings.Add(spelling);
            int merged = BpeTokenizer.FirstMergeId + merges.Count;
            merges.Add(pair);
            foreach (var w in holders[pair])
            {
                var word = words[w];
                if (!word.Holds(pair)) continue; // merged away by an earlier merge
                Count(word, w, -1, counts, holders);
                word.Length = BpeTokenizer.ReplacePair(word.Symbols.AsSpan(0, word.Length), pair, merged);
                Count(word, w, +1, counts, holders);
            }
            holders.Remove(pair);
        }
        return new BpeTokenizer(merges);
    }

    private static List<Piece> CountPieces(IEnumerable<string> texts)
    {
        var frequencies = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = frequencies.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var text in texts)
        {
            foreach (var range in PreSplit.Pieces(text))
            {
                var piece = text.AsSpan(range);
                lookup[piece] = lookup.TryGetValue(piece, out var n) ? n + 1 : 1;
            }
        }
        return [.. frequencies.Select(p => new Piece(p.Key, p.Value))];
    }

    /// <summary>Adds (<paramref name="sign"/> +1) or removes (-1) the pairs of one piece from the counts.</summary>
    private static void Count(Piece word, int index, int sign, Dictionary<(int, int), long> counts, Dictionary<(int, int), HashSet<int>> holders)
    {
        for (int i = 0; i + 1 < word.Length; i++)
        {
            var pair = (word.Symbols[i], word.Symbols[i + 1]);
            var count = counts.GetValueOrDefault(pair) + sign * word.Frequency;
            if (count == 0) counts.Remove(pair); // keeps the search for the most frequent pair short
            else counts[pair] = count;
            if (sign > 0)
            {
                if (!holders.TryGetValue(pair, out var set)) holders[pair] = set = [];
                set.Add(index);
            }
        }
    }

    private static (int Left, int Right)? MostFrequent(Dictionary<(int Left, int Right), long> counts, HashSet<(int Left, int Right)> skipped)
    {
        var best = (Left: int.MaxValue, Right: int.MaxValue);
        long bestCount = 0;
        foreach (var (pair, count) in counts)
        {
            if (skipped.Contains(pair)) continue;
            if (count > bestCount || (count == bestCount && pair.CompareTo(best) < 0))
            {
                best = pair;
                bestCount = count;
            }
        }
        return bestCount > 0 ? best : null;
    }

    /// <summary>One distinct piece of the training text, how often it occurs, and its ids so far.</summary>
    private sealed class Piece(string text, int frequency)
    {
        public int[] Symbols { get; } = [.. Encoding.UTF8.GetBytes(text).Select(b => (int)b)];
        public int Length { get; set; } = Encoding.UTF8.GetByteCount(text);
        public int Frequency { get; } = frequency;

        public bool Holds((int Left, int Right) pair)
        {
            for (int i = 0; i + 1 < Length; i++)
            {
                if (Symbols[i] == pair.Left && Symbols[i + 1] == pair.Right) return true;
            }
            return false;
        }
    }
}
