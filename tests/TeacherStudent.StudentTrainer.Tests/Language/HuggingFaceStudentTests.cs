using System.Text.Json;
using System.Text.Json.Nodes;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using static TorchSharp.torch;

namespace TeacherStudent.StudentTrainer.Tests.Language;

/// <summary>
/// Students from and to Hugging Face, through the <c>train-lm</c> command as a user runs it: a fresh
/// student of a supported family from a config.json with a teacher's tokenizer, a student started from
/// a pretrained model directory that Python wrote, and the model directory every run leaves, read back
/// by the independent Python reference (<see cref="HuggingFaceReference"/>) with the project's log-probs.
/// </summary>
public sealed class HuggingFaceStudentTests : IDisposable
{
    private static readonly string[] Small =
    [
        "--context-length", "16", "--batch-size", "4", "--eval-windows", "4", "--test-windows", "8", "--sample-tokens", "4", "--device", "cpu",
    ];

    private readonly TemporaryDirectory directory = new("hf-student-tests");

    private static async Task<(int ExitCode, string Output)> TrainLmAsync(params string[] arguments)
    {
        using var process = RunningProcess.Start(Builds.StudentTrainer, ["train-lm", .. Small, .. arguments]);
        var exit = await process.WaitForExitAsync(TimeSpan.FromMinutes(3));
        return (exit, process.Output);
    }

    [Fact]
    public async Task AFreshQwen3StudentFromAConfigLeavesAsABFloat16DirectoryThatThePythonReferenceReadsAlike()
    {
        // Arrange: a teacher's directory (its tokenizer is what the student must use) and a two-layer Qwen3 config.
        var teacher = directory.File("teacher");
        HuggingFaceReference.WriteModel(teacher, new TinyModelOptions { Family = "qwen3" });
        var config = directory.File("student-config.json");
        File.WriteAllText(config, """
            {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 32, "intermediate_size": 64,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "vocab_size": 300,
             "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 1000000, "tie_word_embeddings": true,
             "hidden_act": "silu", "use_sliding_window": false}
            """);
        var run = directory.File("student");

        // Act
        var (exit, output) = await TrainLmAsync("--mode", "supervised", "--student-config", config, "--tokenizer", teacher,
            "--steps", "3", "--eval-interval", "0", "--export-dtype", "bfloat16", "--run-directory", run);

        // Assert: the directory transformers reads, in the dtype asked, with the teacher's tokenizer files.
        Assert.True(exit == 0, output);
        var model = Path.Combine(run, "model");
        var written = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!;
        Assert.Equal(("Qwen3ForCausalLM", "qwen3", 2, 8, "bfloat16"), ((string)written["architectures"]![0]!, (string)written["model_type"]!,
            (int)written["num_hidden_layers"]!, (int)written["head_dim"]!, (string)written["torch_dtype"]!));
        Assert.All(SafetensorsDTypes(Path.Combine(model, "model.safetensors")), dtype => Assert.Equal("BF16", dtype));
        Assert.Equal(File.ReadAllBytes(Path.Combine(teacher, "tokenizer.json")), File.ReadAllBytes(Path.Combine(model, "tokenizer.json")));
        Assert.True(File.Exists(Path.Combine(model, "generation_config.json")));

        // The reference's log-probs of the exported files are the project's.
        int[][] rows = [[5, 80, 150, 299, 12, 7, 260, 33], [297, 1, 2, 3, 4, 5, 6, 7]];
        var reference = HuggingFaceReference.LogProbs(model, rows, 1.0);
        using var loaded = HuggingFaceCheckpoint.Load(model, CPU);
        var ours = SequenceTargets.Compute(loaded, [.. rows.SelectMany(r => r)], 2, 8, new SequenceTargetSettings(1f)).LogProbs;
        var difference = reference.SelectMany(r => r.SelectMany(p => p)).Zip(ours, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(difference <= 1e-4, $"the reference and the project differ by {difference} on the exported student");
    }

    [Fact]
    public async Task AStudentStartedFromAPretrainedQwen2DirectoryBeginsWhereThatModelIs()
    {
        // Arrange: a "pretrained" Qwen2 (q/k/v biases, untied head) written by Python, not by this project.
        var pretrained = directory.File("pretrained");
        HuggingFaceReference.WriteModel(pretrained, new TinyModelOptions { Family = "qwen2", Dtype = "bfloat16" });
        var run = directory.File("fine-tuned");

        // Act
        var (exit, output) = await TrainLmAsync("--mode", "supervised", "--init-checkpoint", pretrained,
            "--steps", "2", "--eval-interval", "1", "--run-directory", run);

        // Assert: its first evaluation is the pretrained model's own loss on the same validation windows.
        Assert.True(exit == 0, output);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "report.json")));
        var before = report.RootElement.GetProperty("validation")[0].GetProperty("validation_loss").GetDouble();
        using var start = HuggingFaceCheckpoint.Load(pretrained, CPU);
        var validation = TokenStream.Encode(start.Tokenizer, start.Special, FortunesCorpus.Load().Validation);
        var expected = Perplexity.Evaluate(start.Model, start.VocabularySize, validation, maxWindows: 4, contextLength: 16).Loss;
        Assert.Equal(expected, before, 4);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "model", "config.json")))!;
        Assert.Equal(("Qwen2ForCausalLM", false), ((string)config["architectures"]![0]!, (bool)config["tie_word_embeddings"]!));
        Assert.Contains("model.layers.0.self_attn.q_proj.bias", SafetensorsNames(Path.Combine(run, "model", "model.safetensors")));
    }

    [Fact]
    public async Task AStudentConfigWithTooSmallAVocabularyIsRefusedWithOneLine()
    {
        var teacher = directory.File("teacher-small");
        HuggingFaceReference.WriteModel(teacher, new TinyModelOptions { Family = "llama" });
        var config = directory.File("small-vocab.json");
        File.WriteAllText(config, """
            {"architectures": ["LlamaForCausalLM"], "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
             "num_attention_heads": 2, "vocab_size": 100, "max_position_embeddings": 32}
            """);

        var (exit, output) = await TrainLmAsync("--student-config", config, "--tokenizer", teacher, "--run-directory", directory.File("refused"));

        Assert.NotEqual(0, exit);
        var line = Assert.Single(output.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains("the model scores 100 tokens, fewer than its tokenizer's 300", line);
        Assert.DoesNotContain("   at ", output);
    }

    private static IEnumerable<string> SafetensorsNames(string file) => SafetensorsBytes.Read(file).Tensors.Select(t => t.Name);

    private static IEnumerable<string> SafetensorsDTypes(string file) => SafetensorsBytes.Read(file).Tensors.Select(t => t.DType);

    public void Dispose() => directory.Dispose();
}
