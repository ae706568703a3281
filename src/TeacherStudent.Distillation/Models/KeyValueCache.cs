using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// The keys and values every attention layer of a <see cref="CausalLanguageModel"/> has computed for a
/// batch being generated, so that each new token costs one position's forward instead of the whole
/// sequence's. Allocated once at its full capacity ([B, key/value heads, capacity, head width] per
/// layer, outside any dispose scope) and filled column by column; <see cref="Keep"/> drops the rows that are done.
/// </summary>
public sealed class KeyValueCache : IDisposable
{
    internal KeyValueCache(int layers, int heads, int headWidth, long batch, long capacity, ScalarType dtype, Device device)
    {
        Capacity = capacity;
        Keys = new Tensor[layers];
        Values = new Tensor[layers];
        for (int i = 0; i < layers; i++)
        {
            Keys[i] = zeros([batch, heads, capacity, headWidth], dtype, device).DetachFromDisposeScope();
            Values[i] = zeros([batch, heads, capacity, headWidth], dtype, device).DetachFromDisposeScope();
        }
    }

    private KeyValueCache(Tensor[] keys, Tensor[] values, long capacity, long length)
    {
        Keys = keys;
        Values = values;
        Capacity = capacity;
        Length = length;
    }

    internal Tensor[] Keys { get; }
    internal Tensor[] Values { get; }

    /// <summary>Columns filled so far (the same for every row: padding fills the short rows' first columns).</summary>
    public long Length { get; internal set; }

    /// <summary>Most columns the cache holds.</summary>
    public long Capacity { get; private set; }

    /// <summary>Rows in the cache.</summary>
    public long Batch => Keys[0].shape[0];

    /// <summary>Keeps only the rows <paramref name="rows"/> (int64 indices, on the cache's device), in that order.</summary>
    public void Keep(Tensor rows)
    {
        for (int i = 0; i < Keys.Length; i++)
        {
            Replace(Keys, i, rows);
            Replace(Values, i, rows);
        }
    }

    /// <summary>
    /// Keeps only the rows <paramref name="rows"/> and the columns from <paramref name="firstColumn"/> on (those before it
    /// hold no row's token: padding), in a cache of <paramref name="capacity"/> columns, so that its memory follows what is left.
    /// </summary>
    internal void Keep(Tensor rows, long firstColumn, long capacity)
    {
        if (firstColumn > Length || capacity < Length - firstColumn || firstColumn + capacity > Capacity)
            throw new ArgumentException($"columns {firstColumn}..+{capacity} do not hold the {Length} filled of a cache of {Capacity}.");
        for (int i = 0; i < Keys.Length; i++)
        {
            Replace(Keys, i, t => t.narrow(2, firstColumn, capacity).index_select(0, rows));
            Replace(Values, i, t => t.narrow(2, firstColumn, capacity).index_select(0, rows));
        }
        Length -= firstColumn;
        Capacity = capacity;
    }

    /// <summary>
    /// A cache of <paramref name="capacity"/> columns holding the rows of <paramref name="top"/> (its filled columns from
    /// <paramref name="topFirst"/> on) and then those of <paramref name="bottom"/> (from <paramref name="bottomFirst"/>), both
    /// right-aligned so that their last filled columns meet: the shorter is padded on the left with zeros its masks must leave out.
    /// </summary>
    internal static KeyValueCache Join(KeyValueCache top, long topFirst, KeyValueCache bottom, long bottomFirst, long capacity)
    {
        long topLength = top.Length - topFirst, bottomLength = bottom.Length - bottomFirst;
        long length = Math.Max(topLength, bottomLength);
        if (capacity < length) throw new ArgumentException($"{length} filled columns do not fit a cache of {capacity}.");
        var keys = new Tensor[top.Keys.Length];
        var values = new Tensor[top.Keys.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = Stack(top.Keys[i], topFirst, topLength, bottom.Keys[i], bottomFirst, bottomLength, length, capacity);
            values[i] = Stack(top.Values[i], topFirst, topLength, bottom.Values[i], bottomFirst, bottomLength, length, capacity);
        }
        return new KeyValueCache(keys, values, capacity, length);
    }

    private static Tensor Stack(Tensor top, long topFirst, long topLength, Tensor bottom, long bottomFirst, long bottomLength, long length, long capacity)
    {
        using var scope = NewDisposeScope();
        long topRows = top.shape[0], bottomRows = bottom.shape[0];
        var joined = zeros([topRows + bottomRows, top.shape[1], capacity, top.shape[3]], top.dtype, top.device).DetachFromDisposeScope();
        joined.narrow(0, 0, topRows).narrow(2, length - topLength, topLength).copy_(top.narrow(2, topFirst, topLength));
        joined.narrow(0, topRows, bottomRows).narrow(2, length - bottomLength, bottomLength).copy_(bottom.narrow(2, bottomFirst, bottomLength));
        return joined;
    }

    private static void Replace(Tensor[] tensors, int i, Tensor rows) => Replace(tensors, i, t => t.index_select(0, rows));

    private static void Replace(Tensor[] tensors, int i, Func<Tensor, Tensor> keep)
    {
        Tensor kept;
        using (var scope = NewDisposeScope()) kept = keep(tensors[i]).DetachFromDisposeScope();  // the views in between go with the scope
        tensors[i].Dispose();
        tensors[i] = kept;
    }

    public void Dispose()
    {
        foreach (var t in Keys) t.Dispose();
        foreach (var t in Values) t.Dispose();
    }
}
