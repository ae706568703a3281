namespace TeacherStudent.Distillation.Training;

/// <summary>
/// Random changes to grey-scale images. Label-preserving: a shift of up to <see cref="MaxShift"/> pixels in
/// each direction (zero fill) and a horizontal flip with probability 1/2; with <see cref="Crops"/>, first a
/// random crop of <see cref="MinCropArea"/> to all of the image's area (aspect ratio 3/4 to 4/3), resized back
/// to the whole image bilinearly (an "inception crop"). Not label-preserving: <see cref="Mix"/>, mixup between
/// the images of a batch, for a student that learns from its teacher's answer on the very view it sees
/// (function matching, Beyer et al. 2022). Pixels stay whole bytes, so augmented inputs travel and hash like
/// any other, and teacher and student see the same view.
/// </summary>
public sealed class Augmentation(int seed, bool crops = false)
{
    public const int MaxShift = 1;

    /// <summary>The smallest share of the image a crop keeps.</summary>
    public const double MinCropArea = 0.5;

    private readonly Random random = new(seed);
    private byte[] cropped = []; // the crop of the image being augmented (one image at a time)

    /// <summary>Whether images are cropped and resized before the shift and flip.</summary>
    public bool Crops => crops;

    /// <summary>Writes an augmented copy of <paramref name="source"/> ([height, width]) into <paramref name="destination"/>.</summary>
    public void Apply(ReadOnlySpan<byte> source, Span<byte> destination, int height, int width)
    {
        if (crops)
        {
            if (cropped.Length != height * width) cropped = new byte[height * width];
            Crop(source, cropped, height, width);
            source = cropped;
        }
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

    // A random region of MinCropArea..1 of the image, aspect ratio 3/4..4/3, resized to the whole image bilinearly.
    private void Crop(ReadOnlySpan<byte> source, Span<byte> destination, int height, int width)
    {
        double area = MinCropArea + (1 - MinCropArea) * random.NextDouble();
        double ratio = Math.Exp(Math.Log(3.0 / 4) + (Math.Log(4.0 / 3) - Math.Log(3.0 / 4)) * random.NextDouble());
        double cropHeight = Math.Min(height, Math.Sqrt(area * height * width / ratio));
        double cropWidth = Math.Min(width, Math.Sqrt(area * height * width * ratio));
        double top = (height - cropHeight) * random.NextDouble();
        double left = (width - cropWidth) * random.NextDouble();
        for (int y = 0; y < height; y++)
        {
            // Pixel centres of the output mapped into the crop, then sampled between the four nearest source pixels.
            double sy = Math.Clamp(top + (y + 0.5) * cropHeight / height - 0.5, 0, height - 1);
            int y0 = (int)sy, y1 = Math.Min(y0 + 1, height - 1);
            double fy = sy - y0;
            for (int x = 0; x < width; x++)
            {
                double sx = Math.Clamp(left + (x + 0.5) * cropWidth / width - 0.5, 0, width - 1);
                int x0 = (int)sx, x1 = Math.Min(x0 + 1, width - 1);
                double fx = sx - x0;
                double value = (1 - fy) * ((1 - fx) * source[y0 * width + x0] + fx * source[y0 * width + x1])
                             + fy * ((1 - fx) * source[y1 * width + x0] + fx * source[y1 * width + x1]);
                destination[y * width + x] = (byte)Math.Round(value);
            }
        }
    }

    /// <summary>
    /// Mixup within a batch: every image of <paramref name="pixels"/> ([count, size] bytes) becomes
    /// λ·itself + (1 − λ)·another image of the batch (a random pairing), λ drawn uniformly from [0, 1] per image,
    /// rounded to whole bytes. The images are mixed from the batch as it was, not as it is being rewritten.
    /// </summary>
    public void Mix(Span<byte> pixels, int count, int size)
    {
        if (count < 2) return;
        var original = pixels[..(count * size)].ToArray();
        var partners = Enumerable.Range(0, count).ToArray();
        random.Shuffle(partners);
        for (int i = 0; i < count; i++)
        {
            double lambda = random.NextDouble();
            var own = original.AsSpan(i * size, size);
            var other = original.AsSpan(partners[i] * size, size);
            var mixed = pixels.Slice(i * size, size);
            for (int p = 0; p < size; p++) mixed[p] = (byte)Math.Round(lambda * own[p] + (1 - lambda) * other[p]);
        }
    }
}
