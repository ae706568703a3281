namespace TeacherStudent.Distillation.Training;

/// <summary>Everything that decides what a training run computes. Saved with its checkpoints.</summary>
public sealed record TrainingSettings
{
    public TrainingMode Mode { get; init; } = TrainingMode.Supervised;
    public string Architecture { get; init; } = "mlp";   // model to train: mlp (student) or convnet (teacher)
    public int Width { get; init; } = 256;               // hidden units (mlp) or first-block channels (convnet)
    public int Epochs { get; init; } = 10;               // passes over the training inputs
    public int BatchSize { get; init; } = 128;           // examples per optimiser step
    public double LearningRate { get; init; } = 2e-3;    // peak AdamW learning rate, cosine-decayed to 0 over the run
    public double WeightDecay { get; init; } = 1e-4;     // AdamW decoupled weight decay
    public double Temperature { get; init; } = 4;        // T of the soft targets: log_softmax(z / T)
    public double Alpha { get; init; } = 0.9;            // weight of the soft (teacher) term; 1 - alpha goes to CE on labels
    public string Loss { get; init; } = "forward_kl";    // divergence between teacher and student distributions
    public int Seed { get; init; } = 1;                  // initialisation, shuffling, dropout and augmentation
    public int? LabelledExamples { get; init; }          // keep labels for only this many training examples (null = all)
    public int LabelSeed { get; init; } = 0;             // which examples keep their labels
    public bool Augment { get; init; }                   // random shifts and flips, so inputs differ every epoch
    public bool Crops { get; init; }                     // random crops resized back to the whole image (Augmentation)
    public bool Mixup { get; init; }                     // mixup within each batch: online students with Alpha = 1 only (function matching)
}
