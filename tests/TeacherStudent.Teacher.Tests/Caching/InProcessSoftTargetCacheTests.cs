using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Caching;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Tests.Caching;

public sealed class InProcessSoftTargetCacheTests
{
    private static InProcessSoftTargetCache Create(int capacity, int megabytes = 1024) =>
        new(Microsoft.Extensions.Options.Options.Create(new CacheOptions { InProcessCapacity = capacity, InProcessMegabytes = megabytes }));

    [Fact]
    public async Task WhatIsSetIsFoundByAnEqualKeyAndOtherKeysMiss()
    {
        // Arrange
        using var cache = Create(10);
        await cache.SetManyAsync([[1, 2], [3, 4]], [[10], [20]], CancellationToken.None);

        // Act: new arrays with the same bytes, as the next request would compute them.
        var found = await cache.GetManyAsync([[3, 4], [5, 6], [1, 2]], CancellationToken.None);

        // Assert
        Assert.Equal([20], found[0]);
        Assert.Null(found[1]);
        Assert.Equal([10], found[2]);
    }

    [Fact]
    public async Task ItNeverHoldsMoreThanItsCapacity()
    {
        // Arrange
        using var cache = Create(5);
        var keys = Enumerable.Range(0, 20).Select(i => new[] { (byte)i }).ToArray();

        // Act
        await cache.SetManyAsync(keys, keys, CancellationToken.None);

        // Assert
        Assert.InRange(cache.Count, 1, 5);
    }

    [Fact]
    public async Task ItNeverHoldsMoreBytesThanItsMegabytes()
    {
        // Arrange: 1 MB, and language-model-sized rows of 256 KB each; the entry bound is far away.
        using var cache = Create(1000, megabytes: 1);
        var keys = Enumerable.Range(0, 20).Select(i => new[] { (byte)i }).ToArray();
        var rows = keys.Select(_ => new byte[256 << 10]).ToArray();

        // Act
        foreach (var (key, row) in keys.Zip(rows)) await cache.SetManyAsync([key], [row], CancellationToken.None);
        var found = await cache.GetManyAsync(keys, CancellationToken.None);

        // Assert: at most three such rows fit (a full cache keeps no new entry until a compaction makes room).
        Assert.InRange(found.Count(v => v is not null), 1, 3);
    }
}
