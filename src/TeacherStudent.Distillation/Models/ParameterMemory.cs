using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// Where a model's parameters are allocated, empty, in one dtype on one device: the small ones one after
/// another in blocks of 64 MB, a large one (half a block or more) in memory of its own; on a CPU each block and
/// each large tensor is advised into huge pages (<see cref="HugePages"/>) before anything is written to it, and
/// starts on a huge page's boundary.
/// Advised one tensor at a time, a model's memory gets huge pages only for tensors of 2 MB and more: a
/// 141M-parameter model's q/k/v/o matrices are 0.5-1 MB, and 200 of its 563 MB (float32) were faulted in 4 KB
/// pages, the slowest part of its load (docs/benchmarks.md). Each parameter is a view of its block, as a torch
/// parameter may be: it keeps the block's memory alive, and the memory goes when the last of them is disposed.
/// </summary>
internal sealed class ParameterMemory(ScalarType dtype, Device device) : IDisposable
{
    private const long BlockBytes = 64L << 20;
    private const long AlignmentBytes = 64;    // each tensor starts on a cache line, as libtorch's allocator starts them

    private readonly long elementBytes = ElementBytes(dtype);
    private Tensor? block;
    private long used, blockEnd;                // the block's elements up to used are handed out; it ends at blockEnd

    /// <summary>A parameter of <paramref name="shape"/>, not set: fill it from a checkpoint or initialise it.</summary>
    public Parameter NewParameter(params long[] shape)
    {
        using var memory = Take(shape.Aggregate(1L, (a, b) => a * b));
        using var shaped = memory.view(shape);
        return new Parameter(shaped);
    }

    private Tensor Take(long count)
    {
        if (count * elementBytes >= BlockBytes / 2)
        {
            var (own, offset) = Allocate(count);
            using (own) return own.narrow(0, offset, count);
        }
        long capacity = BlockBytes / elementBytes;
        if (block is null || used + count > blockEnd)
        {
            block?.Dispose();
            (block, used) = Allocate(capacity);
            blockEnd = used + capacity;
        }
        var taken = block.narrow(0, used, count);
        long step = AlignmentBytes / elementBytes;
        used = Math.Min(blockEnd, (used + count + step - 1) / step * step);
        return taken;
    }

    // Memory for count elements and a huge page more, advised: where they start, the first 2 MB boundary when the
    // advice was taken, so that none of them lies in a part of a page the advice could not cover. The slack is never
    // written, so never resident.
    private (Tensor Memory, long Offset) Allocate(long count)
    {
        var memory = empty([count + HugePages.PageBytes / elementBytes], dtype, device);
        var advised = HugePages.Advise(memory);
        return (memory, advised.Bytes == 0 ? 0 : (advised.Address - HugePages.AddressOf(memory)) / elementBytes);
    }

    /// <summary>The bytes of one element of <paramref name="dtype"/>, as libtorch stores it.</summary>
    internal static int ElementBytes(ScalarType dtype)
    {
        using var one = empty([1], dtype);
        return (int)one.ElementSize;
    }

    /// <summary>Lets go of the block being filled; the parameters already handed out keep their memory.</summary>
    public void Dispose() => block?.Dispose();
}
