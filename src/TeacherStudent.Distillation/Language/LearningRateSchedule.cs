namespace TeacherStudent.Distillation.Language;

/// <summary>
/// nanoGPT's learning-rate schedule: a linear warm-up from 0 to the peak, then a cosine decay from
/// the peak to the minimum at the last step.
/// </summary>
public sealed record LearningRateSchedule(double Peak, double Minimum, int WarmupSteps, int Steps)
{
    /// <summary>The schedule of <paramref name="settings"/>.</summary>
    public static LearningRateSchedule Of(LanguageTrainingSettings settings) =>
        new(settings.LearningRate, settings.MinLearningRate, Math.Min(settings.WarmupSteps, settings.Steps), settings.Steps);

    /// <summary>The learning rate of step <paramref name="step"/> (1-based).</summary>
    public double At(int step)
    {
        if (step <= WarmupSteps) return Peak * step / WarmupSteps;
        if (Steps == WarmupSteps) return Peak;
        double progress = (double)(step - WarmupSteps) / (Steps - WarmupSteps);  // 0 after the warm-up, 1 at the last step
        return Minimum + 0.5 * (1 + Math.Cos(Math.PI * progress)) * (Peak - Minimum);
    }
}
