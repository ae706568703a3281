namespace TeacherStudent.Distillation.Training;

/// <summary>How a student learns.</summary>
public enum TrainingMode
{
    /// <summary>Labels only, cross-entropy; trains teachers and the baselines.</summary>
    Supervised,

    /// <summary>Soft targets for the whole training set fetched once, then trained on without the teacher.</summary>
    Offline,

    /// <summary>Every batch (augmented, so different each epoch) asks the teacher live.</summary>
    Online,

    /// <summary>The teacher's argmax used as hard labels for every example: the control for what soft targets add.</summary>
    Pseudo,
}

/// <summary>Parsing and naming of <see cref="TrainingMode"/>.</summary>
public static class TrainingModes
{
    /// <summary>The lower-case name used on the command line and in reports.</summary>
    public static string Name(this TrainingMode mode) => mode.ToString().ToLowerInvariant();

    /// <summary>Whether the mode needs a teacher.</summary>
    public static bool NeedsTeacher(this TrainingMode mode) => mode != TrainingMode.Supervised;
}
