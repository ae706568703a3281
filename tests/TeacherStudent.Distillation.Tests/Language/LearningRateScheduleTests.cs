using TeacherStudent.Distillation.Language;

namespace TeacherStudent.Distillation.Tests.Language;

public sealed class LearningRateScheduleTests
{
    private static readonly LearningRateSchedule Schedule = new(Peak: 1e-3, Minimum: 1e-4, WarmupSteps: 10, Steps: 110);

    [Theory]
    [InlineData(1, 1e-4)]        // warm-up: peak * step / 10
    [InlineData(5, 5e-4)]
    [InlineData(10, 1e-3)]       // the peak
    [InlineData(60, 5.5e-4)]     // half way down the cosine: min + (peak - min) / 2
    [InlineData(110, 1e-4)]      // the minimum at the last step
    public void WarmsUpLinearlyThenFallsAlongACosineToTheMinimum(int step, double expected)
    {
        Assert.Equal(expected, Schedule.At(step), 12);
    }

    [Fact]
    public void WithoutWarmUpTheFirstStepIsNearThePeak()
    {
        var schedule = new LearningRateSchedule(1e-3, 0, 0, 100);

        Assert.Equal(1e-3 * 0.5 * (1 + Math.Cos(Math.PI / 100)), schedule.At(1), 12);
    }
}
