using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Caching;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Tests.Caching;

public sealed class InProcessSoftTargetCacheTests
{
    private static InProcessSoftTargetCache Create(int capacity) =>
        new(Microsoft.Extensions.Options.Options.Create(new CacheOptions { InProcessCapacity = capacity }));

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
}
