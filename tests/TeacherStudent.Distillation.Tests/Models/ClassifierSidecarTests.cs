using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;

namespace TeacherStudent.Distillation.Tests.Models;

/// <summary>The JSON sidecar of a classifier: what it must say, and each refusal naming the file.</summary>
public sealed class ClassifierSidecarTests : IDisposable
{
    private const string Classes = """["a", "b", "c"]""";
    private readonly TemporaryDirectory directory = new();

    public void Dispose() => directory.Dispose();

    private string Write(string json)
    {
        var path = directory.File($"sidecar-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void AUsersSidecarGivesItsShapeNormalizationAndClasses()
    {
        // Arrange
        var path = Write($$"""{"input": {"shape": [3, 32, 32], "dtype": "float32"}, "normalization": {"mean": [0.5, 0.4, 0.3], "std": [0.2]}, "class_names": {{Classes}}, "extra": 1}""");

        // Act
        var sidecar = ClassifierSidecar.Read(path);

        // Assert
        Assert.Equal([3L, 32L, 32L], sidecar.ExampleShape);
        Assert.Equal([0.5, 0.4, 0.3], sidecar.Normalization!.Mean!);
        Assert.Equal([0.2], sidecar.Normalization.Std!);
        Assert.Equal(["a", "b", "c"], sidecar.ClassNames!);
        Assert.Null(sidecar.Architecture);
    }

    [Fact]
    public void AStudentsSidecarRoundTripsWithItsArchitectureWidthAndTheProjectsNormalization()
    {
        // Arrange
        var spec = ModelSpec.ForFashionMnist(Mlp.Name, 64);
        var path = directory.File("model.json");

        // Act
        ClassifierSidecar.For(spec, FashionMnist.ClassNames).Write(path);
        var read = ClassifierSidecar.Read(path);
        var text = File.ReadAllText(path);

        // Assert
        Assert.Equal(("mlp", 64), (read.Architecture, read.Width));
        Assert.Equal([1L, 28L, 28L], read.ExampleShape);
        Assert.Equal("float32", read.Input!.DType);
        Assert.Equal([0.2860], read.Normalization!.Mean!);
        Assert.Equal([0.3530], read.Normalization.Std!);
        Assert.Equal(FashionMnist.ClassNames, read.ClassNames!);
        Assert.Contains("\"class_names\"", text); // the names Python reads, not C#'s
    }

    [Theory]
    [InlineData("{\"input\": ", "is not valid JSON (line 1")]
    [InlineData("null", "holds null")]
    [InlineData($$"""{"class_names": {{Classes}}}""", "has no input.shape")]
    [InlineData($$"""{"input": {"shape": "1x28x28"}, "class_names": {{Classes}}}""", "gives input.shape a value of the wrong kind")]
    [InlineData($$"""{"input": {"shape": [1, 0, 28]}, "class_names": {{Classes}}}""", "gives input.shape [1, 0, 28]; it must be [channels, height, width]")]
    [InlineData($$"""{"input": {"shape": [784]}, "class_names": {{Classes}}}""", "gives input.shape [784]")]
    [InlineData($$"""{"input": {"shape": [1, 28, 28], "dtype": "uint8"}, "class_names": {{Classes}}}""", "gives input.dtype 'uint8'; only 'float32' is supported")]
    [InlineData("""{"input": {"shape": [1, 28, 28]}}""", "needs class_names")]
    [InlineData("""{"input": {"shape": [1, 28, 28]}, "class_names": ["only"]}""", "needs class_names, at least two")]
    [InlineData("""{"input": {"shape": [1, 28, 28]}, "class_names": ["a", " "]}""", "has an empty name in class_names")]
    [InlineData($$"""{"input": {"shape": [3, 28, 28]}, "normalization": {"mean": [0.1, 0.2], "std": [0.3]}, "class_names": {{Classes}}}""", "gives 2 means and 1 standard deviations for 3 channels")]
    [InlineData($$"""{"input": {"shape": [1, 28, 28]}, "normalization": {"mean": [0.1]}, "class_names": {{Classes}}}""", "without both mean and std")]
    [InlineData($$"""{"input": {"shape": [1, 28, 28]}, "normalization": {"mean": [0.1], "std": [0]}, "class_names": {{Classes}}}""", "not positive")]
    public void AnUnusableSidecarIsRefusedNamingItsFileAndWhatIsWrong(string json, string reason)
    {
        // Arrange
        var path = Write(json);

        // Act
        var error = Assert.Throws<InvalidDataException>(() => ClassifierSidecar.Read(path));

        // Assert
        Assert.StartsWith($"its sidecar {path} ", error.Message);
        Assert.Contains(reason, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void AMissingSidecarIsRefusedNamingWhereItWasLookedFor()
    {
        // Arrange
        var path = directory.File("nowhere.json");

        // Act
        var error = Assert.Throws<InvalidDataException>(() => ClassifierSidecar.Read(path));

        // Assert
        Assert.StartsWith($"its sidecar {path} is missing", error.Message);
    }
}
