namespace TeacherStudent.Distillation.Data;

/// <summary>
/// Fashion-MNIST from its IDX files, as the Debian package <c>dataset-fashion-mnist</c>
/// installs them (60,000 training and 10,000 test images of 28x28 pixels, ten classes).
/// </summary>
public static class FashionMnist
{
    /// <summary>Where the Debian package puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The ten classes, in label order.</summary>
    public static readonly IReadOnlyList<string> ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Loads the training split (60,000 images).</summary>
    public static ImageDataset LoadTrain(string directory) => Load(directory, "train");

    /// <summary>Loads the test split (10,000 images).</summary>
    public static ImageDataset LoadTest(string directory) => Load(directory, "t10k");

    private static ImageDataset Load(string directory, string prefix)
    {
        var images = Find(directory, $"{prefix}-images-idx3-ubyte");
        var labels = Find(directory, $"{prefix}-labels-idx1-ubyte");
        var x = IdxReader.Read(images);
        var y = IdxReader.Read(labels);
        if (x.Dimensions.Length != 3)
            throw new InvalidDataException($"{images} should hold [count, height, width] images but has {x.Dimensions.Length} dimensions.");
        if (y.Dimensions.Length != 1 || y.Dimensions[0] != x.Dimensions[0])
            throw new InvalidDataException($"{labels} should hold one label per image of {images}.");
        if (y.Data.Any(l => l >= ClassNames.Count))
            throw new InvalidDataException($"{labels} holds a label outside 0..{ClassNames.Count - 1}.");
        return new ImageDataset(x.Data, y.Data, x.Dimensions[1], x.Dimensions[2], ClassNames);
    }

    private static string Find(string directory, string stem)
    {
        foreach (var candidate in new[] { stem + ".gz", stem })
        {
            var path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        throw new DatasetNotFoundException(
            $"Fashion-MNIST file {stem}.gz not found in {directory}: install the Debian package dataset-fashion-mnist " +
            "(apt-get install dataset-fashion-mnist) or point the data directory option at a folder with the IDX files.");
    }
}

/// <summary>A dataset that is not where it was looked for; the message says how to get it.</summary>
public sealed class DatasetNotFoundException(string message) : Exception(message);
