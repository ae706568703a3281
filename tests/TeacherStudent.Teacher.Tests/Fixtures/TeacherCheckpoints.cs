using TeacherStudent.Distillation.Models;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests.Fixtures;

/// <summary>Small untrained teacher checkpoints, the same bytes for the same seed.</summary>
public static class TeacherCheckpoints
{
    /// <summary>Saves a width-8 ConvNet for Fashion-MNIST, initialised from <paramref name="seed"/>, to <paramref name="path"/>.</summary>
    public static string Create(string path, int seed)
    {
        manual_seed(seed);
        var spec = ModelSpec.ForFashionMnist("convnet", 8);
        using var model = spec.Create();
        Checkpoint.Save(path, spec, model);
        return path;
    }

    /// <summary>Saves a width-8 ConvNet whose every weight is NaN: a broken teacher, whose every answer is a row of NaN.</summary>
    public static string CreateWithNaNWeights(string path)
    {
        var spec = ModelSpec.ForFashionMnist("convnet", 8);
        using var model = spec.Create();
        using (no_grad())
        {
            foreach (var parameter in model.parameters()) parameter.fill_(float.NaN);
        }
        Checkpoint.Save(path, spec, model);
        return path;
    }
}
