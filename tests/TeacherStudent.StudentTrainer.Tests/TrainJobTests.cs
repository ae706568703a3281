using TeacherStudent.Distillation.Training;

namespace TeacherStudent.StudentTrainer.Tests;

public sealed class TrainJobTests
{
    [Theory]
    [InlineData("online", true)]
    [InlineData("offline", false)]
    [InlineData("supervised", false)]
    public void AugmentationDefaultsToOnOnlyForOnlineStudents(string mode, bool expected)
    {
        var settings = TrainJob.ToSettings(new TrainerOptions { Mode = mode });

        Assert.Equal(expected, settings.Augment);
    }

    [Fact]
    public void ZeroLabelsMeansEveryLabelIsKept()
    {
        Assert.Null(TrainJob.ToSettings(new TrainerOptions { Labels = 0 }).LabelledExamples);
        Assert.Equal(3000, TrainJob.ToSettings(new TrainerOptions { Labels = 3000 }).LabelledExamples);
    }

    [Fact]
    public void OptionsMapOntoTheTrainingSettingsOneToOne()
    {
        var o = new TrainerOptions { Mode = "pseudo", Architecture = "convnet", Width = 16, Epochs = 3, BatchSize = 64, LearningRate = 0.01, Temperature = 2.5, Alpha = 0.25, Seed = 7, LabelSeed = 9 };

        var s = TrainJob.ToSettings(o);

        Assert.Equal(TrainingMode.Pseudo, s.Mode);
        Assert.Equal(("convnet", 16, 3, 64, 0.01, 2.5, 0.25, 7, 9), (s.Architecture, s.Width, s.Epochs, s.BatchSize, s.LearningRate, s.Temperature, s.Alpha, s.Seed, s.LabelSeed));
    }
}
