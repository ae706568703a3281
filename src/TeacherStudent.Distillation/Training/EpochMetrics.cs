namespace TeacherStudent.Distillation.Training;

/// <summary>What one epoch measured.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="TrainLoss">Mean training objective over the epoch's batches.</param>
/// <param name="EvalLoss">Mean cross-entropy on the evaluation set.</param>
/// <param name="EvalAccuracy">Accuracy on the evaluation set, 0..1.</param>
/// <param name="Seconds">Wall time of the epoch, training and evaluation.</param>
/// <param name="TeacherVersions">Teacher versions that answered during the epoch, in the order they first answered (empty without a teacher).</param>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double EvalLoss, double EvalAccuracy, double Seconds, IReadOnlyList<string> TeacherVersions);

/// <summary>Progress inside an epoch, for a progress bar.</summary>
public readonly record struct BatchProgress(int Epoch, int Epochs, int Batch, int Batches, double MeanLoss);
