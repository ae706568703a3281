using System.Security.Cryptography;
using System.Text;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Caching;

namespace TeacherStudent.Teacher.Tests.Caching;

public sealed class SoftTargetKeysTests
{
    private static readonly SoftTargetKeys Keys = new("ts:v1:");

    private static WireTensor Examples(params byte[][] examples) =>
        new([examples.Length, 1, 2, 2], WireDType.UInt8, examples.SelectMany(e => e).ToArray());

    private static readonly byte[] A = [1, 2, 3, 4], B = [5, 6, 7, 8];

    private static byte[] KeyOf(WireTensor inputs, string teacher = "fashion", string version = "v1", float temperature = 2f, WireDType output = WireDType.Float32) =>
        Keys.Compute(teacher, version, temperature, output, inputs)[0];

    [Fact]
    public void AKeyIsThePrefixTheSettingsDigestAndTheExamplesSha256()
    {
        // Act
        var key = KeyOf(Examples(A));

        // Assert
        Assert.Equal(6 + 32 + 32, key.Length);
        Assert.Equal(Keys.KeySize, key.Length);
        Assert.Equal("ts:v1:", Encoding.UTF8.GetString(key, 0, 6));
        Assert.Equal(SHA256.HashData(A), key[^32..]);
    }

    [Fact]
    public void TheDigestsOfABatchGiveTheKeysItsExamplesGive()
    {
        // Arrange
        var examples = Examples(A, B);
        var digests = ExampleDigests.Compute(examples.Data, 2);

        // Act
        var fromExamples = Keys.Compute("fashion", "v1", 2f, WireDType.Float32, examples);
        var fromDigests = Keys.FromDigests("fashion", "v1", 2f, WireDType.Float32, WireDType.UInt8, examples.Shape, digests);

        // Assert
        Assert.Equal(fromExamples, fromDigests);
    }

    [Fact]
    public void AnExampleHasTheSameKeyWhateverBatchAndPositionItArrivesIn()
    {
        // Act
        var alone = Keys.Compute("fashion", "v1", 2f, WireDType.Float32, Examples(A));
        var second = Keys.Compute("fashion", "v1", 2f, WireDType.Float32, Examples(B, A));

        // Assert
        Assert.Equal(alone[0], second[1]);
        Assert.NotEqual(second[0], second[1]);
    }

    [Fact]
    public void EveryExampleOfALargeBatchHasTheKeyItHasAlone()
    {
        // Arrange: 300 distinct examples.
        var examples = Enumerable.Range(0, 300).Select(i => new byte[] { (byte)i, (byte)(i >> 8), 7, 9 }).ToArray();

        // Act
        var together = Keys.Compute("fashion", "v1", 2f, WireDType.Float32, Examples(examples));

        // Assert
        for (int i = 0; i < examples.Length; i++) Assert.Equal(KeyOf(Examples(examples[i])), together[i]);
        Assert.Equal(300, together.Select(Convert.ToHexString).Distinct().Count());
    }

    [Fact]
    public void EverySettingThatChangesTheAnswerChangesTheKey()
    {
        // Arrange
        var baseline = KeyOf(Examples(A));

        // Act
        var others = new[]
        {
            KeyOf(Examples(A), teacher: "other"),
            KeyOf(Examples(A), version: "v2"),
            KeyOf(Examples(A), temperature: 2.0001f),
            KeyOf(Examples(A), output: WireDType.Float16),
            KeyOf(new WireTensor([1, 1, 2, 2], WireDType.Float32, A)),
            KeyOf(new WireTensor([1, 2, 2, 1], WireDType.UInt8, A)),
            KeyOf(Examples([1, 2, 3, 5])),
        };

        // Assert
        Assert.All(others, key => Assert.NotEqual(baseline, key));
        Assert.Equal(others.Length, others.Select(Convert.ToHexString).Distinct().Count());
    }

    [Fact]
    public void NameAndVersionCannotBleedIntoEachOther()
    {
        // Act: "ab" + "c" and "a" + "bc" concatenate alike, but are different teachers.
        var first = KeyOf(Examples(A), teacher: "ab", version: "c");
        var second = KeyOf(Examples(A), teacher: "a", version: "bc");

        // Assert
        Assert.NotEqual(first, second);
    }
}
