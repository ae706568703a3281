namespace TeacherStudent.Distillation.Data;

/// <summary>
/// Grey-scale images as bytes (0..255), row-major [Count, Height, Width], with integer labels.
/// Kept as bytes because that is also what travels to the teacher and what the cache keys on.
/// </summary>
public sealed class ImageDataset
{
    public ImageDataset(byte[] pixels, byte[] labels, int height, int width, IReadOnlyList<string> classNames)
    {
        if (pixels.Length != labels.Length * height * width)
            throw new ArgumentException($"{labels.Length} labels need {labels.Length * height * width} pixels, not {pixels.Length}.");
        Pixels = pixels;
        Labels = labels;
        Height = height;
        Width = width;
        ClassNames = classNames;
    }

    public byte[] Pixels { get; }
    public byte[] Labels { get; }
    public int Height { get; }
    public int Width { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int Count => Labels.Length;
    public int ExampleSize => Height * Width;

    /// <summary>The pixels of example <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Example(int index) => Pixels.AsSpan(index * ExampleSize, ExampleSize);

    /// <summary>A new dataset holding the examples at <paramref name="indices"/>, in that order.</summary>
    public ImageDataset Subset(IReadOnlyList<int> indices)
    {
        var pixels = new byte[indices.Count * ExampleSize];
        var labels = new byte[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            Example(indices[i]).CopyTo(pixels.AsSpan(i * ExampleSize));
            labels[i] = Labels[indices[i]];
        }
        return new ImageDataset(pixels, labels, Height, Width, ClassNames);
    }

    /// <summary>The first <paramref name="count"/> examples.</summary>
    public ImageDataset Take(int count) => Subset(Enumerable.Range(0, Math.Min(count, Count)).ToArray());

    /// <summary>
    /// Splits off the last <paramref name="count"/> examples of a seeded shuffle as a
    /// validation set; returns (train, validation).
    /// </summary>
    public (ImageDataset Train, ImageDataset Validation) SplitValidation(int count, int seed)
    {
        if (count <= 0 || count >= Count)
            throw new ArgumentOutOfRangeException(nameof(count), $"validation size must be between 1 and {Count - 1}.");
        var order = Enumerable.Range(0, Count).ToArray();
        new Random(seed).Shuffle(order);
        return (Subset(order[..^count]), Subset(order[^count..]));
    }
}
