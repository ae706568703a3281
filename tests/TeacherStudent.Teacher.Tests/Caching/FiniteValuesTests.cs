using System.Runtime.InteropServices;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Caching;

namespace TeacherStudent.Teacher.Tests.Caching;

public sealed class FiniteValuesTests
{
    public static TheoryData<float> NonFinite => [float.NaN, float.PositiveInfinity, float.NegativeInfinity];

    // Lengths below, at and past a vector's width, and every position of one bad value in them:
    // whichever lane or the scalar tail it lands in, it is found.
    private static IEnumerable<(int Length, int Position)> Placements() =>
        from length in new[] { 1, 7, 8, 15, 16, 17, 33, 100 }
        from position in Enumerable.Range(0, length)
        select (length, position);

    [Theory]
    [MemberData(nameof(NonFinite))]
    public void AFloat32NaNOrInfinityAnywhereIsFound(float bad)
    {
        foreach (var (length, position) in Placements())
        {
            // Arrange
            var values = Enumerable.Range(0, length).Select(i => -i * 0.5f).ToArray();
            values[position] = bad;

            // Act
            var finite = FiniteValues.All(MemoryMarshal.AsBytes(values.AsSpan()), WireDType.Float32);

            // Assert
            Assert.False(finite, $"{bad} at {position} of {length} was not found");
        }
    }

    [Theory]
    [MemberData(nameof(NonFinite))]
    public void AFloat16NaNOrInfinityAnywhereIsFound(float bad)
    {
        foreach (var (length, position) in Placements())
        {
            // Arrange
            var values = Enumerable.Range(0, length).Select(i => (Half)(-i * 0.5f)).ToArray();
            values[position] = (Half)bad;

            // Act
            var finite = FiniteValues.All(MemoryMarshal.AsBytes(values.AsSpan()), WireDType.Float16);

            // Assert
            Assert.False(finite, $"{bad} at {position} of {length} was not found");
        }
    }

    [Fact]
    public void FiniteExtremesAreFinite()
    {
        // Arrange: the largest, smallest, subnormal and zero values of each type, repeated past a vector.
        var floats = Enumerable.Repeat(new[] { float.MaxValue, float.MinValue, float.Epsilon, -0f, 0f, -1e30f }, 10).SelectMany(v => v).ToArray();
        var halves = Enumerable.Repeat(new[] { Half.MaxValue, Half.MinValue, Half.Epsilon, Half.NegativeZero, Half.Zero }, 10).SelectMany(v => v).ToArray();

        // Act
        var floatsFinite = FiniteValues.All(MemoryMarshal.AsBytes(floats.AsSpan()), WireDType.Float32);
        var halvesFinite = FiniteValues.All(MemoryMarshal.AsBytes(halves.AsSpan()), WireDType.Float16);

        // Assert
        Assert.True(floatsFinite);
        Assert.True(halvesFinite);
    }
}
