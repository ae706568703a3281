using System.Text;
using System.Text.Json;
using TeacherStudent.Distillation.Models;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Models;

public sealed class CheckpointTests : IDisposable
{
    private readonly TemporaryDirectory directory = new();

    [Theory]
    [InlineData(Mlp.Name, 16)]
    [InlineData(ConvNet.Name, 4)]
    public void ALoadedCheckpointGivesTheSameOutputsAsTheSavedModel(string architecture, int width)
    {
        using var scope = NewDisposeScope();
        var spec = ModelSpec.ForFashionMnist(architecture, width);
        using var model = spec.Create();
        var pixels = randint(0, 256, [4, 1, 28, 28], ScalarType.Byte);
        model.train();
        using (no_grad()) model.forward(pixels); // moves batch-norm running statistics off their initial values
        model.eval();
        var expected = model.forward(pixels);
        var path = directory.File("model.ckpt");

        Checkpoint.Save(path, spec, model);
        var (loadedSpec, loaded) = Checkpoint.Load(path, CPU);
        using var _ = loaded;
        var actual = loaded.forward(pixels);

        Assert.Equal(spec, loadedSpec);
        Assert.False(loaded.training, "a loaded model should be in eval mode");
        Assert.Equal(expected.data<float>().ToArray(), actual.data<float>().ToArray());
    }

    [Fact]
    public void CopiesLoadedFromOneCheckpointAreSeparateModelsWithItsOutputsAndVersion()
    {
        using var scope = NewDisposeScope();
        var spec = ModelSpec.ForFashionMnist(ConvNet.Name, 4);
        using var model = spec.Create();
        model.eval();
        var pixels = randint(0, 256, [4, 1, 28, 28], ScalarType.Byte);
        var expected = model.forward(pixels).data<float>().ToArray();
        var path = directory.File("model.ckpt");
        Checkpoint.Save(path, spec, model);

        var (loadedSpec, copies, version) = Checkpoint.LoadCopies(path, CPU, 3);
        try
        {
            Assert.Equal(spec, loadedSpec);
            Assert.Equal(Checkpoint.Digest(path), version);
            Assert.Equal(3, copies.Distinct(ReferenceEqualityComparer.Instance).Count());
            // Separate weights, not one module three times: changing one copy leaves the others as saved.
            using (no_grad()) copies[0].parameters().First().add_(1f);
            Assert.NotEqual(expected, copies[0].forward(pixels).data<float>().ToArray());
            foreach (var copy in copies.Skip(1)) Assert.Equal(expected, copy.forward(pixels).data<float>().ToArray());
        }
        finally
        {
            foreach (var copy in copies) copy.Dispose();
        }
    }

    [Fact]
    public void SavingLeavesNoTemporaryFileBehind()
    {
        using var model = ModelSpec.ForFashionMnist(Mlp.Name, 8).Create();

        Checkpoint.Save(directory.File("model.ckpt"), ModelSpec.ForFashionMnist(Mlp.Name, 8), model);

        Assert.Equal(["model.ckpt"], Directory.GetFiles(directory.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void TheDigestIsStableForTheSameWeightsAndChangesWhenTheyChange()
    {
        var spec = ModelSpec.ForFashionMnist(Mlp.Name, 8);
        using var model = spec.Create();
        var first = directory.File("first.ckpt");
        var same = directory.File("same.ckpt");
        var changed = directory.File("changed.ckpt");

        Checkpoint.Save(first, spec, model);
        Checkpoint.Save(same, spec, model);
        using (no_grad()) model.parameters().First().add_(1e-3);
        Checkpoint.Save(changed, spec, model);

        var digest = Checkpoint.Digest(first);
        Assert.Matches("^[0-9a-f]{16}$", digest);
        Assert.Equal(digest, Checkpoint.Digest(first));
        Assert.Equal(digest, Checkpoint.Digest(same));
        Assert.NotEqual(digest, Checkpoint.Digest(changed));
    }

    [Fact]
    public void AGarbageFileIsInvalidDataThatNamesTheFile()
    {
        var path = directory.File("garbage.ckpt");
        File.WriteAllBytes(path, Enumerable.Range(0, 1000).Select(i => (byte)(i * 37)).ToArray());

        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, CPU));

        Assert.Contains(path, error.Message);
        Assert.Contains("checkpoint header", error.Message);
    }

    [Fact]
    public void ATruncatedCheckpointIsInvalidData()
    {
        var spec = ModelSpec.ForFashionMnist(Mlp.Name, 8);
        using var model = spec.Create();
        var path = directory.File("truncated.ckpt");
        Checkpoint.Save(path, spec, model);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, CPU));

        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void ACheckpointOfAnUnknownArchitectureIsInvalidData()
    {
        var path = directory.File("unknown.ckpt");
        using (var writer = new BinaryWriter(File.Create(path)))
        {
            writer.Write(Encoding.ASCII.GetBytes("TeacherStudent checkpoint v1\n"));
            writer.Write(JsonSerializer.Serialize(ModelSpec.ForFashionMnist("resnet", 8)));
        }

        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, CPU));

        Assert.Contains("unknown architecture 'resnet'", error.Message);
    }

    public void Dispose() => directory.Dispose();
}
