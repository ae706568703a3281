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

    internal Tensor[] Keys { get; }
    internal Tensor[] Values { get; }

    /// <summary>Columns filled so far (the same for every row: padding fills the short rows' first columns).</summary>
    public long Length { get; internal set; }

    /// <summary>Most columns the cache holds.</summary>
    public long Capacity { get; }

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

    private static void Replace(Tensor[] tensors, int i, Tensor rows)
    {
        var kept = tensors[i].index_select(0, rows).DetachFromDisposeScope();
        tensors[i].Dispose();
        tensors[i] = kept;
    }

    public void Dispose()
    {
        foreach (var t in Keys) t.Dispose();
        foreach (var t in Values) t.Dispose();
    }
}
