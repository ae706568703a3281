namespace TeacherStudent.Distillation.Training;

/// <summary>
/// Label-preserving random changes to grey-scale images: a shift of up to
/// <see cref="MaxShift"/> pixels in each direction (zero fill) and a horizontal flip with
/// probability 1/2. Pixels stay whole bytes, so augmented inputs travel and hash like any other.
/// </summary>
public sealed class Augmentation(int seed)
{
    public const int MaxShift = 1;

    private readonly Random random = new(seed);

    /// <summary>Writes an augmented copy of <paramref name="source"/> ([height, width]) into <paramref name="destination"/>.</summary>
    public void Apply(ReadOnlySpan<byte> source, Span<byte> destination, int height, int width)
    {
        int dy = random.Next(-MaxShift, MaxShift + 1);
        int dx = random.Next(-MaxShift, MaxShift + 1);
        bool flip = random.Next(2) == 1;
        destination.Clear();
        for (int y = 0; y < height; y++)
        {
            int sy = y - dy;
            if (sy < 0 || sy >= height) continue;
            for (int x = 0; x < width; x++)
            {
                int sx = (flip ? width - 1 - x : x) - dx;
                if (sx < 0 || sx >= width) continue;
                destination[y * width + x] = source[sy * width + sx];
            }
        }
    }
}
