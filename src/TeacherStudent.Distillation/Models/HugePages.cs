using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// Asks Linux to back a large tensor's memory with transparent huge pages before it is first written.
/// Writing fresh memory costs a page fault per 4 KB page, and on a virtual machine each is slow: filling
/// 563 MB took 1.8 s here, against 0.25 s in 2 MB pages (<c>./bench.sh load</c>, docs/benchmarks.md).
/// Debian and most distributions set transparent huge pages to <c>madvise</c>: only memory that asks
/// gets them, which is what this does. libtorch can do it for every allocation (<c>THP_MEM_ALLOC_ENABLE=1</c>),
/// but a loader should not change how the rest of the process allocates.
/// </summary>
public static partial class HugePages
{
    /// <summary>The x86-64 huge page: 2 MB.</summary>
    public const long PageBytes = 2 << 20;
    private const int MadviseHugePage = 14;    // MADV_HUGEPAGE

    /// <summary>
    /// Advises the whole 2 MB pages inside <paramref name="tensor"/>'s memory (contiguous, on the CPU, not
    /// yet written) and returns the range advised. Elsewhere, for a tensor under 2 MB, or when the kernel does
    /// not offer huge pages, nothing changes: it is advice.
    /// </summary>
    public static AdvisedRange Advise(Tensor tensor)
    {
        if (!OperatingSystem.IsLinux() || tensor.device_type != DeviceType.CPU || !tensor.is_contiguous()) return default;
        long bytes = tensor.numel() * tensor.ElementSize;
        if (bytes < PageBytes) return default;
        long start = AddressOf(tensor);
        long first = (start + PageBytes - 1) / PageBytes * PageBytes, end = (start + bytes) / PageBytes * PageBytes;
        if (end <= first || Madvise((nint)first, (nuint)(end - first), MadviseHugePage) != 0) return default; // EINVAL when THP is off
        return new AdvisedRange(first, end - first);
    }

    /// <summary>The address of a CPU tensor's first element (a one-element view's bytes: a whole tensor's may exceed a Span's length).</summary>
    public static unsafe long AddressOf(Tensor tensor)
    {
        using var flat = tensor.view(-1);
        using var first = flat.narrow(0, 0, 1);
        fixed (byte* pointer = first.bytes) return (long)pointer;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}

/// <summary>The memory <see cref="HugePages.Advise"/> advised: <see cref="Bytes"/> from <see cref="Address"/> (0 when none).</summary>
public readonly record struct AdvisedRange(long Address, long Bytes);
