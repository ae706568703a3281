using System.Text.Json;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.Distillation.Training;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Language;

/// <summary>
/// Where a language-model run stands after a step: its settings and tokenizer digest, steps done, the
/// evaluations so far, the running sums since the last evaluation, and the model and optimiser
/// state. Written atomically every so many steps and at the end, so a run killed at any moment
/// resumes from its last save and then takes exactly the steps it would have taken.
/// </summary>
public sealed record LanguageTrainingState(
    LanguageTrainingSettings Settings,
    string TokenizerDigest,
    int StepsDone,
    IReadOnlyList<LanguageMetrics> History,
    double LossSum,
    int LossSteps,
    long Tokens,
    long GeneratedTokens,
    long TeacherDraws,
    double Seconds,
    double TrainSeconds,
    IReadOnlyList<string> TeacherVersions)
{
    public const string FileName = "state.bin";

    /// <summary>A run that has not taken a step yet.</summary>
    public static LanguageTrainingState Start(LanguageTrainingSettings settings, ITokenizer tokenizer) =>
        new(settings, tokenizer.Digest, 0, [], 0, 0, 0, 0, 0, 0, 0, []);

    /// <summary>Saves this state with the weights (float32, TorchSharp's state-dict format) and the optimiser moments.</summary>
    public void Save(string path, Llama model, HeldScalarAdamW optimizer) =>
        Checkpoint.WriteAtomically(path, writer =>
        {
            writer.Write(JsonSerializer.Serialize(this));
            model.save(writer);
            optimizer.Save(writer);
        });

    /// <summary>
    /// Loads a saved state into <paramref name="model"/> and <paramref name="optimizer"/>; null when
    /// there is no state file yet. A state saved with other settings or another tokenizer is refused
    /// before anything is loaded.
    /// </summary>
    public static LanguageTrainingState? Load(string path, LanguageTrainingSettings settings, ITokenizer tokenizer, Llama model, HeldScalarAdamW optimizer)
    {
        if (!File.Exists(path)) return null;
        using var reader = new BinaryReader(File.OpenRead(path));
        var state = JsonSerializer.Deserialize<LanguageTrainingState>(reader.ReadString())
                    ?? throw new InvalidDataException($"{path} holds no training state.");
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (state.Settings != settings)
            throw new ArgumentException($"{directory} holds a run with other settings ({state.Settings}); use another run directory or the same settings.");
        if (state.TokenizerDigest != tokenizer.Digest)
            throw new ArgumentException($"{directory} holds a run with tokenizer {state.TokenizerDigest}, not {tokenizer.Digest}; use another run directory or the same tokenizer.");
        model.load(reader);
        optimizer.Load(reader);
        return state;
    }
}
