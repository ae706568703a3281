using TeacherStudent.Distillation.Data;

namespace TeacherStudent.Distillation.Tests.Data;

public sealed class FashionMnistTests : IDisposable
{
    private readonly TemporaryDirectory directory = new();

    [Fact]
    public void TheTrainingSplitLoadsFromGzippedFilesNamedLikeTheRealOnes()
    {
        // Three 4 x 5 images; pixel values say which image they belong to.
        var pixels = Enumerable.Range(0, 3).SelectMany(i => Enumerable.Repeat((byte)(10 * i + 1), 20)).ToArray();
        Write("train-images-idx3-ubyte.gz", IdxFiles.Gzip(IdxFiles.UnsignedBytes([3, 4, 5], pixels)));
        Write("train-labels-idx1-ubyte.gz", IdxFiles.Gzip(IdxFiles.UnsignedBytes([3], [9, 0, 4])));

        var train = FashionMnist.LoadTrain(directory.Path);

        Assert.Equal(3, train.Count);
        Assert.Equal(4, train.Height);
        Assert.Equal(5, train.Width);
        Assert.Equal(pixels, train.Pixels);
        Assert.Equal(new byte[] { 9, 0, 4 }, train.Labels);
        Assert.Equal("Ankle boot", train.ClassNames[train.Labels[0]]);
    }

    [Fact]
    public void TheTestSplitLoadsFromUncompressedFiles()
    {
        Write("t10k-images-idx3-ubyte", IdxFiles.UnsignedBytes([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]));
        Write("t10k-labels-idx1-ubyte", IdxFiles.UnsignedBytes([2], [3, 7]));

        var test = FashionMnist.LoadTest(directory.Path);

        Assert.Equal(2, test.Count);
        Assert.Equal(new byte[] { 5, 6, 7, 8 }, test.Example(1).ToArray());
        Assert.Equal(new byte[] { 3, 7 }, test.Labels);
    }

    [Fact]
    public void AMissingDirectoryNamesTheDebianPackageToInstall()
    {
        var missing = directory.File("no-such-directory");

        var error = Assert.Throws<DatasetNotFoundException>(() => FashionMnist.LoadTrain(missing));

        Assert.Contains("dataset-fashion-mnist", error.Message);
        Assert.Contains(missing, error.Message);
        Assert.Contains("train-images-idx3-ubyte.gz", error.Message);
    }

    [Fact]
    public void MissingLabelsNameTheLabelsFile()
    {
        Write("train-images-idx3-ubyte.gz", IdxFiles.Gzip(IdxFiles.UnsignedBytes([1, 2, 2], [1, 2, 3, 4])));

        var error = Assert.Throws<DatasetNotFoundException>(() => FashionMnist.LoadTrain(directory.Path));

        Assert.Contains("train-labels-idx1-ubyte.gz", error.Message);
    }

    [Fact]
    public void ALabelOutsideTheTenClassesIsInvalidData()
    {
        Write("train-images-idx3-ubyte", IdxFiles.UnsignedBytes([2, 1, 1], [0, 0]));
        Write("train-labels-idx1-ubyte", IdxFiles.UnsignedBytes([2], [3, 10]));

        var error = Assert.Throws<InvalidDataException>(() => FashionMnist.LoadTrain(directory.Path));

        Assert.Contains("label outside 0..9", error.Message);
    }

    [Fact]
    public void LabelsThatDoNotMatchTheImagesInNumberAreInvalidData()
    {
        Write("train-images-idx3-ubyte", IdxFiles.UnsignedBytes([2, 1, 1], [0, 0]));
        Write("train-labels-idx1-ubyte", IdxFiles.UnsignedBytes([3], [1, 2, 3]));

        var error = Assert.Throws<InvalidDataException>(() => FashionMnist.LoadTrain(directory.Path));

        Assert.Contains("one label per image", error.Message);
    }

    [Fact]
    public void ImagesWithoutThreeDimensionsAreInvalidData()
    {
        Write("train-images-idx3-ubyte", IdxFiles.UnsignedBytes([2, 2], [0, 0, 0, 0]));
        Write("train-labels-idx1-ubyte", IdxFiles.UnsignedBytes([2], [1, 2]));

        var error = Assert.Throws<InvalidDataException>(() => FashionMnist.LoadTrain(directory.Path));

        Assert.Contains("has 2 dimensions", error.Message);
    }

    public void Dispose() => directory.Dispose();

    private void Write(string name, byte[] bytes) => File.WriteAllBytes(directory.File(name), bytes);
}
