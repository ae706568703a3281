using TeacherStudent.Distillation.Training;

namespace TeacherStudent.Distillation.Tests.Training;

public sealed class AugmentationTests
{
    private const int Size = 28;
    private const int Draws = 200;

    [Fact]
    public void ASingleBrightPixelLandsWithinMaxShiftOfItsPlaceOrOfItsMirroredPlace()
    {
        // Far enough from the middle column that the plain and mirrored neighbourhoods do not overlap.
        const int row = 10, column = 3, mirrored = Size - 1 - column;
        var image = new byte[Size * Size];
        image[row * Size + column] = 255;
        var augmentation = new Augmentation(seed: 7);
        var output = new byte[image.Length];
        var rowShifts = new HashSet<int>();
        int plain = 0, flipped = 0;

        for (int draw = 0; draw < Draws; draw++)
        {
            augmentation.Apply(image, output, Size, Size);

            var lit = Enumerable.Range(0, output.Length).Where(i => output[i] != 0).ToArray();
            int at = Assert.Single(lit);
            Assert.Equal(255, output[at]);
            int y = at / Size, x = at % Size;
            Assert.InRange(y - row, -Augmentation.MaxShift, Augmentation.MaxShift);
            if (Math.Abs(x - column) <= Augmentation.MaxShift) plain++;
            else if (Math.Abs(x - mirrored) <= Augmentation.MaxShift) flipped++;
            else Assert.Fail($"the pixel moved from column {column} to {x}: neither a shift nor a mirrored shift.");
            rowShifts.Add(y - row);
        }

        // Both orientations and every allowed shift turn up over many draws.
        Assert.True(plain > Draws / 4 && flipped > Draws / 4, $"{plain} plain and {flipped} flipped of {Draws}");
        Assert.Equal(Enumerable.Range(-Augmentation.MaxShift, 2 * Augmentation.MaxShift + 1), rowShifts.Order());
    }

    [Fact]
    public void EveryOutputIsAShiftedAndOrMirroredCopyOfTheInputWithZerosWhereNothingShiftedIn()
    {
        const int height = 6, width = 7;
        var image = Enumerable.Range(0, height * width).Select(i => (byte)(i + 1)).ToArray(); // every pixel distinct and non-zero
        var candidates = AllowedTransforms(image, height, width);
        var augmentation = new Augmentation(seed: 11);
        var output = new byte[image.Length];

        for (int draw = 0; draw < 50; draw++)
        {
            Array.Fill(output, (byte)0xEE); // what was in the destination must not leak through

            augmentation.Apply(image, output, height, width);

            Assert.All(output, p => Assert.True(p == 0 || image.Contains(p), $"pixel {p} is not from the input"));
            Assert.Contains(candidates, c => c.AsSpan().SequenceEqual(output));
        }
    }

    [Fact]
    public void TheSameSeedGivesTheSameSequenceOfImages()
    {
        var image = Enumerable.Range(0, Size * Size).Select(i => (byte)(i * 7)).ToArray();

        var first = Sequence(new Augmentation(seed: 42), image, 20);
        var second = Sequence(new Augmentation(seed: 42), image, 20);

        Assert.Equal(first, second);
    }

    [Fact]
    public void DifferentSeedsGiveDifferentSequencesOfImages()
    {
        var image = Enumerable.Range(0, Size * Size).Select(i => (byte)(i * 7)).ToArray();

        var first = Sequence(new Augmentation(seed: 1), image, 20);
        var second = Sequence(new Augmentation(seed: 2), image, 20);

        Assert.NotEqual(first, second);
    }

    private static byte[] Sequence(Augmentation augmentation, byte[] image, int count)
    {
        var all = new byte[count * image.Length];
        for (int i = 0; i < count; i++) augmentation.Apply(image, all.AsSpan(i * image.Length, image.Length), Size, Size);
        return all;
    }

    /// <summary>
    /// Every image the augmentation may produce, built the long way: mirror the whole image (or
    /// not), then move it by (dy, dx) with zero fill, for every shift up to MaxShift.
    /// </summary>
    private static List<byte[]> AllowedTransforms(byte[] image, int height, int width)
    {
        var mirrored = new byte[image.Length];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                mirrored[y * width + x] = image[y * width + (width - 1 - x)];

        var results = new List<byte[]>();
        foreach (var source in new[] { image, mirrored })
            for (int dy = -Augmentation.MaxShift; dy <= Augmentation.MaxShift; dy++)
                for (int dx = -Augmentation.MaxShift; dx <= Augmentation.MaxShift; dx++)
                {
                    var moved = new byte[image.Length];
                    for (int y = 0; y < height; y++)
                        for (int x = 0; x < width; x++)
                        {
                            int ty = y + dy, tx = x + dx;
                            if (ty >= 0 && ty < height && tx >= 0 && tx < width) moved[ty * width + tx] = source[y * width + x];
                        }
                    results.Add(moved);
                }
        return results;
    }
}
