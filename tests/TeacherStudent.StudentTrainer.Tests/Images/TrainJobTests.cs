using System.ComponentModel.DataAnnotations;
using TeacherStudent.Distillation.Training;
using TeacherStudent.StudentTrainer.Images;

namespace TeacherStudent.StudentTrainer.Tests.Images;

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

    [Theory]
    [InlineData("self", true)]
    [InlineData("online", true)]
    [InlineData("sideways", false)]
    [InlineData("Self", false)]
    public void SelfIsAModeTheOptionsAccept(string mode, bool valid)
    {
        var options = new TrainerOptions { Mode = mode };
        var errors = new List<ValidationResult>();

        bool ok = Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true);

        Assert.Equal(valid, ok);
        if (!valid) Assert.Contains("supervised, offline, online, pseudo or self", errors.Single().ErrorMessage);
    }

    [Theory]
    [InlineData("fashion", true)]
    [InlineData("teacher-2.b", true)]
    [InlineData("../escape", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    public void APublishNameIsAFileNameNotAPath(string name, bool valid)
    {
        var options = new TrainerOptions { PublishName = name };

        bool ok = Validator.TryValidateObject(options, new ValidationContext(options), [], validateAllProperties: true);

        Assert.Equal(valid, ok);
    }

    [Theory]
    [InlineData("convnet", 32, true)]
    [InlineData("convnet", 8, true)]
    [InlineData("convnet", 12, false)]
    [InlineData("convnet", 4, false)]
    [InlineData("mlp", 12, true)]
    public void AConvNetsWidthIsAMultipleOfEight(string architecture, int width, bool valid)
    {
        var options = new TrainerOptions { Architecture = architecture, Width = width };
        var errors = new List<ValidationResult>();

        bool ok = Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true);

        Assert.Equal(valid, ok);
        if (!valid) Assert.Contains("multiple of 8", errors.Single().ErrorMessage);
    }

    [Theory]
    [InlineData(0.01, true)]
    [InlineData(100.0, true)]
    [InlineData(0.005, false)]
    [InlineData(150.0, false)]
    public void TheTemperatureIsInTheRangeTheTeacherServiceAccepts(double temperature, bool valid)
    {
        var options = new TrainerOptions { Temperature = temperature };

        bool ok = Validator.TryValidateObject(options, new ValidationContext(options), [], validateAllProperties: true);

        Assert.Equal(valid, ok);
    }

    [Fact]
    public void ASelfRunStartsFromSupervisedSettingsWithoutAugmentation()
    {
        var s = TrainJob.ToSettings(new TrainerOptions { Mode = "self", Epochs = 4 });

        Assert.Equal((TrainingMode.Supervised, 4, false), (s.Mode, s.Epochs, s.Augment));
    }
}
