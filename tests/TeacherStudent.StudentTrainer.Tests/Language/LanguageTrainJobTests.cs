using System.ComponentModel.DataAnnotations;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.StudentTrainer.Language;

namespace TeacherStudent.StudentTrainer.Tests.Language;

public sealed class LanguageTrainJobTests
{
    [Theory]
    [InlineData(2048, 0, 2048)]
    [InlineData(2048, 64, 2048)]
    [InlineData(2050, 64, 2112)]
    [InlineData(300, 128, 384)]
    public void PaddingRoundsTheModelsVocabularyUpToAMultiple(int vocabulary, int multiple, int expected)
    {
        Assert.Equal(expected, LanguageTrainJob.PaddedVocabulary(vocabulary, multiple));
    }

    [Fact]
    public void OptionsMapOntoTheTrainingSettingsOneToOne()
    {
        var o = new LanguageTrainerOptions
        {
            Mode = "on_policy", Loss = "jsd", MixingWeight = 0.3, Alpha = 0.7, Temperature = 2, K = 16, Targets = "sampled",
            Layers = 3, Width = 96, Heads = 4, ContextLength = 64, PadVocabularyTo = 64, Steps = 500, BatchSize = 24,
            NewTokens = 12, TeacherMixing = 0.5, LengthNormalisation = true, Seed = 9, EvalInterval = 50, CheckpointInterval = 25,
        };

        var s = LanguageTrainJob.ToSettings(o, tokenizerVocabulary: 1000);

        Assert.Equal(LanguageTrainingMode.OnPolicy, s.Mode);
        Assert.Equal(Distillation.Models.LlamaConfig.Small(1024, 64, layers: 3, width: 96, heads: 4), s.Model);
        Assert.Equal((96 / 4, 256, 64), (s.Model.HeadWidth, s.Model.FeedForwardWidth, s.ContextLength));
        Assert.Equal(("jsd", 0.3, 0.7, 2.0, 16, SparseTargetKind.Sampled), (s.Loss, s.MixingWeight, s.Alpha, s.Temperature, s.K, s.TargetKind));
        Assert.Equal((500, 24, 12, 0.5, true, 9, 50, 25), (s.Steps, s.BatchSize, s.NewTokens, s.TeacherMixing, s.LengthNormalisation, s.Seed, s.EvalInterval, s.CheckpointInterval));
        s.Validate();
    }

    [Theory]
    [InlineData("on_policy", true)]
    [InlineData("supervised", true)]
    [InlineData("onpolicy", false)]
    [InlineData("self", false)]
    public void TheLanguageModesAreTheOnesTheOptionsAccept(string mode, bool valid)
    {
        var options = new LanguageTrainerOptions { Mode = mode };

        bool ok = Validator.TryValidateObject(options, new ValidationContext(options), [], validateAllProperties: true);

        Assert.Equal(valid, ok);
    }
}
