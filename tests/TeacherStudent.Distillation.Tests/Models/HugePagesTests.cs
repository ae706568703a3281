using System.Globalization;
using TeacherStudent.Distillation.Models;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Models;

public sealed class HugePagesTests
{
    private const long HugePage = 2 << 20;

    // The kernel's setting: "always", "madvise" or "never", the one in brackets; null for a kernel without them.
    private static string? TransparentHugePages()
    {
        const string setting = "/sys/kernel/mm/transparent_hugepage/enabled";
        if (!File.Exists(setting)) return null;
        var text = File.ReadAllText(setting);
        int open = text.IndexOf('['), close = text.IndexOf(']');
        return open >= 0 && close > open ? text[(open + 1)..close] : null;
    }

    // The kB of huge pages behind the mapping of this process that holds address.
    private static long HugePageKilobytesAt(long address)
    {
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var dash = line.IndexOf('-');
            var space = line.IndexOf(' ');
            if (dash > 0 && space > dash && long.TryParse(line[..dash], NumberStyles.HexNumber, null, out var from)
                && long.TryParse(line[(dash + 1)..space], NumberStyles.HexNumber, null, out var to))
            {
                inside = address >= from && address < to;
            }
            else if (inside && line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }

    [Fact]
    public void ALargeTensorIsBackedByHugePagesWhereTheKernelOffersThem()
    {
        // Arrange: 64 MB, not yet written.
        using var tensor = empty(16L << 20, ScalarType.Float32);

        // Act
        var advised = HugePages.Advise(tensor);
        tensor.fill_(1);

        // Assert: the whole 2 MB pages inside it are advised, and written they are huge pages (a kernel built
        // without them refuses the advice; one that has them set to "never" takes it and gives none).
        var setting = TransparentHugePages();
        if (setting is null)
        {
            Assert.Equal(default, advised);
            return;
        }
        Assert.Equal(0, advised.Address % HugePage);
        Assert.InRange(advised.Bytes, (64L << 20) - 2 * HugePage, 64L << 20);
        if (setting == "never") return;
        Assert.True(HugePageKilobytesAt(advised.Address) * 1024 >= HugePage,
            $"no huge page behind the advised range (AnonHugePages {HugePageKilobytesAt(advised.Address)} kB)");
    }

    [Fact]
    public void AModelsSmallMatricesLieSideBySideInHugePages()
    {
        // Arrange: 4 layers of width 256, so each q/k/v/o matrix is 256 KB, far under a huge page.
        using var model = new Llama(LlamaConfig.Small(1000, 16, 4, 256, 4));

        // Act: written, as a load or an initialisation writes them.
        model.InitialiseRandomly();

        // Assert: one after another in one block of memory, which is backed by huge pages where the kernel offers them.
        var parameters = model.state_dict();
        var queries = parameters["model.layers.0.self_attn.q_proj.weight"];
        var keys = parameters["model.layers.0.self_attn.k_proj.weight"];
        Assert.Equal(HugePages.AddressOf(queries) + queries.numel() * queries.ElementSize, HugePages.AddressOf(keys));
        var setting = TransparentHugePages();
        if (setting is null or "never") return;
        Assert.True(HugePageKilobytesAt(HugePages.AddressOf(queries)) * 1024 >= HugePage,
            $"no huge page behind a small matrix (AnonHugePages {HugePageKilobytesAt(HugePages.AddressOf(queries))} kB)");
    }

    [Fact]
    public void WhatCannotHoldAHugePageIsLeftAlone()
    {
        // Arrange: under 2 MB; not contiguous.
        using var small = empty(1000, ScalarType.Float32);
        using var big = empty(4096, 1024, ScalarType.Float32);
        using var transposed = big.t();

        // Act
        var advisedSmall = HugePages.Advise(small);
        var advisedTransposed = HugePages.Advise(transposed);

        // Assert
        Assert.Equal(default, advisedSmall);
        Assert.Equal(default, advisedTransposed);
    }
}
