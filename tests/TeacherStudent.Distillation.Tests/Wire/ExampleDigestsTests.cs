using System.Security.Cryptography;
using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.Distillation.Tests.Wire;

public sealed class ExampleDigestsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(300)]
    public void EachDigestIsTheSha256OfItsExampleWhateverTheBatchSize(int count)
    {
        // Arrange: distinct examples of 20 bytes (batches of 64 and more are hashed in parallel slices).
        var data = new byte[count * 20];
        new Random(count).NextBytes(data);

        // Act
        var digests = ExampleDigests.Compute(data, count);

        // Assert
        Assert.Equal(count * ExampleDigests.Size, digests.Length);
        for (int i = 0; i < count; i++)
            Assert.Equal(SHA256.HashData(data.AsSpan(i * 20, 20)), digests.AsSpan(i * 32, 32).ToArray());
    }

    [Fact]
    public void BytesThatDoNotSplitIntoTheExamplesAreRefused()
    {
        // Act
        var error = Assert.Throws<ArgumentException>(() => ExampleDigests.Compute(new byte[10], 3));

        // Assert
        Assert.Contains("10 bytes do not split into 3 examples", error.Message);
    }
}
