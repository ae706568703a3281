using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Caching;

namespace TeacherStudent.Teacher.Tests.Caching;

public sealed class CacheWriteBackTests
{
    // Keeps what is written, in order.
    private sealed class WrittenCache : ISoftTargetCache
    {
        public List<(byte[] Key, byte[] Value)> Written { get; } = [];

        public Task<byte[]?[]> GetManyAsync(IReadOnlyList<byte[]> keys, CancellationToken cancellationToken) =>
            Task.FromResult(new byte[]?[keys.Count]);

        public Task SetManyAsync(IReadOnlyList<byte[]> keys, IReadOnlyList<byte[]> values, CancellationToken cancellationToken)
        {
            for (int i = 0; i < keys.Count; i++) Written.Add((keys[i], values[i]));
            return Task.CompletedTask;
        }
    }

    private static byte[] Row(params float[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    [Fact]
    public async Task RowsHoldingNaNOrInfinityAreNotWrittenAndTheFiniteOnesAre()
    {
        // Arrange
        var cache = new WrittenCache();
        byte[][] keys = [[0], [1], [2], [3]];
        byte[][] rows = [Row(-0.1f, -2.4f), Row(float.NaN, float.NaN), Row(-0.7f, -0.7f), Row(0f, float.NegativeInfinity)];

        // Act
        await cache.SetFiniteOrLogAsync(keys, rows, WireDType.Float32, valuesStart: 0, "fashion", NullLogger.Instance, CancellationToken.None);

        // Assert
        Assert.Equal([0, 2], cache.Written.Select(w => (int)w.Key[0]));
        Assert.Equal(rows[2], cache.Written[1].Value);
    }

    [Fact]
    public async Task OnlyTheValuesAfterValuesStartAreLookedAt()
    {
        // Arrange: the first four bytes of each row are ids whose bits, read as a float, are NaN.
        var cache = new WrittenCache();
        byte[] ids = [0xff, 0xff, 0xff, 0x7f];
        byte[][] rows = [[.. ids, .. Row(-1f)], [.. ids, .. Row(float.PositiveInfinity)]];

        // Act
        await cache.SetFiniteOrLogAsync([[0], [1]], rows, WireDType.Float32, valuesStart: 4, "lm", NullLogger.Instance, CancellationToken.None);

        // Assert
        Assert.Equal([0], cache.Written.Select(w => (int)w.Key[0]));
    }
}
