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

    [Fact]
    public void ACropOfAUniformImageIsUniformAndACropOfARampIsAMonotoneRampThatZoomsIn()
    {
        // A uniform image stays uniform under any crop and resize (then shifts bring in zeros at an edge).
        var grey = Enumerable.Repeat((byte)100, Size * Size).ToArray();
        var cropping = new Augmentation(seed: 5, crops: true);
        var output = new byte[grey.Length];
        for (int draw = 0; draw < 20; draw++)
        {
            cropping.Apply(grey, output, Size, Size);
            Assert.All(output, p => Assert.True(p is 100 or 0, $"pixel {p}"));
            Assert.True(output.Count(p => p == 100) >= (Size - 1) * (Size - 1), "more than one row and column of zeros");
        }

        // A vertical ramp (row r has value 9r): a crop keeps it increasing down the rows, and a crop of less
        // than the whole image spans fewer values than the full 0..243, most of the time.
        var ramp = Enumerable.Range(0, Size * Size).Select(i => (byte)(9 * (i / Size))).ToArray();
        int narrower = 0;
        for (int draw = 0; draw < 50; draw++)
        {
            cropping.Apply(ramp, output, Size, Size);
            var column = Enumerable.Range(2, Size - 4).Select(y => output[y * Size + Size / 2]).ToArray(); // away from the zero-filled edges
            Assert.True(column.Zip(column.Skip(1)).All(p => p.Second >= p.First), string.Join(",", column));
            if (column[^1] - column[0] < 9 * (Size - 5)) narrower++;
        }
        Assert.True(narrower > 40, $"{narrower} of 50 crops zoomed in");
    }

    [Fact]
    public void MixupMakesEveryImageABlendOfItselfAndAnImageOfTheBatch()
    {
        // Three images of different patterns: a blend λ·a + (1 − λ)·b is recognised by fitting λ over all pixels.
        const int count = 3, size = 64;
        var originals = new[]
        {
            Enumerable.Range(0, size).Select(p => (byte)(4 * p)).ToArray(),
            Enumerable.Range(0, size).Select(p => (byte)(p % 2 == 0 ? 250 : 10)).ToArray(),
            Enumerable.Range(0, size).Select(p => (byte)(255 - 3 * p)).ToArray(),
        };
        var augmentation = new Augmentation(seed: 3);
        int blends = 0;

        for (int draw = 0; draw < 20; draw++)
        {
            var batch = originals.SelectMany(o => o).ToArray();
            augmentation.Mix(batch, count, size);
            for (int i = 0; i < count; i++)
            {
                var mixed = batch.AsSpan(i * size, size).ToArray();
                var fits = Enumerable.Range(0, count).Select(j => (Partner: j, Fit: Fit(mixed, originals[i], originals[j])))
                    .Where(f => f.Fit.Residual <= 1.0).ToArray();
                Assert.NotEmpty(fits); // a blend of itself and some image of the batch, within rounding (and the fit of λ)
                if (fits.Any(f => f.Partner != i && f.Fit.Lambda is > 0.05 and < 0.95)) blends++;
            }
        }
        Assert.True(blends > 20, $"{blends} of 60 images were blends of two images");

        static (double Lambda, double Residual) Fit(byte[] mixed, byte[] own, byte[] other)
        {
            // Least squares for mixed - other = λ (own - other); λ = 1 when other is own.
            double num = 0, den = 0;
            for (int p = 0; p < mixed.Length; p++) { num += (mixed[p] - other[p]) * (double)(own[p] - other[p]); den += (own[p] - other[p]) * (double)(own[p] - other[p]); }
            double lambda = den == 0 ? 1 : Math.Clamp(num / den, 0, 1);
            double residual = Enumerable.Range(0, mixed.Length).Max(p => Math.Abs(mixed[p] - (lambda * own[p] + (1 - lambda) * other[p])));
            return (lambda, residual);
        }
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
