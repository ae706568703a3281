using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Testing;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Models;

/// <summary>
/// Loading Hugging Face model directories: a directory damaged in each way a download, a conversion or a
/// hand edit can damage one is refused with an <see cref="InvalidDataException"/> whose one sentence names
/// the file and the tensor or setting; and the version is the digest of exactly the files that change an answer.
/// </summary>
public sealed partial class HuggingFaceCheckpointTests(TinyModels models, ITestOutputHelper output) : IClassFixture<TinyModels>, IDisposable
{
    private static readonly TinyModelOptions Llama = new() { Family = "llama" };
    private static readonly TinyModelOptions Sharded = new() { Family = "qwen2", Sharded = true };
    private static readonly TinyModelOptions LargerTokenizer = new() { Family = "llama", Vocab = 320 };

    private readonly TemporaryDirectory temporary = new();
    private int copies;

    public void Dispose() => temporary.Dispose();

    private string CopyOf(TinyModelOptions options) => models.Copy(options, temporary.File($"copy-{++copies}"));

    private static string Weights(string directory) => Path.Combine(directory, HuggingFaceCheckpoint.WeightsFile);

    private static void EditConfig(string directory, Action<JsonObject> edit)
    {
        var path = Path.Combine(directory, LlamaConfig.FileName);
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    // Each way of damaging a copy of a model, and what the refusal must name (the file, then the tensor or setting).
    public static TheoryData<string> Damages => new()
    {
        "a missing tensor", "a missing tensor of a sharded model", "a tensor of the wrong shape", "a tensor whose bytes do not fit its shape",
        "a tensor of an unknown dtype", "a tensor with no place in the architecture", "data_offsets outside the file", "a truncated file",
        "a malformed header entry", "a missing shard", "no weights file", "no tokenizer", "a tokenizer with more ids than vocab_size",
        "an unsupported architecture", "an unsupported rope scaling",
    };

    private (string Directory, string File, string Named) Damage(string damage)
    {
        switch (damage)
        {
            case "a missing tensor":
            {
                var directory = CopyOf(Llama);
                SafetensorsBytes.Edit(Weights(directory), f => f.Tensors.Remove(f["model.layers.1.mlp.up_proj.weight"]));
                return (directory, Weights(directory), "model.layers.1.mlp.up_proj.weight");
            }
            case "a missing tensor of a sharded model":
            {
                var directory = CopyOf(Sharded);
                var shard = Path.Combine(directory, "model-00002-of-00002.safetensors");
                SafetensorsBytes.Edit(shard, f => f.Tensors.Remove(f["model.norm.weight"]));
                return (directory, shard, "model.norm.weight"); // the shard the index puts it in
            }
            case "a tensor of the wrong shape":
            {
                // Stored transposed, as GPT-2's Conv1D weights are: the same bytes, the other shape.
                var directory = CopyOf(Llama);
                SafetensorsBytes.Edit(Weights(directory), f => f["model.layers.0.mlp.down_proj.weight"].Shape = [96, 64]);
                return (directory, Weights(directory), "model.layers.0.mlp.down_proj.weight");
            }
            case "a tensor whose bytes do not fit its shape":
            {
                var directory = CopyOf(Llama);
                SafetensorsBytes.Edit(Weights(directory), f => f["model.layers.0.self_attn.k_proj.weight"].Shape = [32, 65]);
                return (directory, Weights(directory), "model.layers.0.self_attn.k_proj.weight");
            }
            case "a tensor of an unknown dtype":
            {
                // 64 float32s are 32 int64s: the header is consistent, only the dtype is one no weight has.
                var directory = CopyOf(Llama);
                SafetensorsBytes.Edit(Weights(directory), f =>
                {
                    f["model.norm.weight"].DType = "I64";
                    f["model.norm.weight"].Shape = [32];
                });
                return (directory, Weights(directory), "model.norm.weight");
            }
            case "a tensor with no place in the architecture":
            {
                // A third layer's tensor in a two-layer model (a config.json that lost a layer).
                var directory = CopyOf(Llama);
                SafetensorsBytes.Edit(Weights(directory), f =>
                {
                    var gate = f["model.layers.1.mlp.gate_proj.weight"];
                    f.Tensors.Add(new SafetensorsBytes.Entry("model.layers.2.mlp.gate_proj.weight", gate.DType, gate.Shape, gate.Bytes));
                });
                return (directory, Weights(directory), "model.layers.2.mlp.gate_proj.weight");
            }
            case "data_offsets outside the file":
            {
                var directory = CopyOf(Llama);
                var name = "";
                SafetensorsBytes.Edit(Weights(directory), f =>
                {
                    var last = f.Tensors[^1];
                    long start = f.Tensors.Sum(t => (long)t.Bytes.Length) - last.Bytes.Length + 4096;
                    last.Offsets = [start, start + last.Bytes.Length];
                    name = last.Name;
                });
                return (directory, Weights(directory), name);
            }
            case "a truncated file":
            {
                // A download cut short: the header promises more bytes than the file has.
                var directory = CopyOf(Llama);
                var last = SafetensorsBytes.Read(Weights(directory)).Tensors[^1].Name;
                using (var stream = new FileStream(Weights(directory), FileMode.Open)) stream.SetLength(stream.Length - 100);
                return (directory, Weights(directory), last);
            }
            case "a malformed header entry":
            {
                // A shape holding a string, written over the header's bytes so that its length stays right.
                var directory = CopyOf(Llama);
                var path = Weights(directory);
                var bytes = File.ReadAllBytes(path);
                var entry = "\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[64]"u8;
                var at = bytes.AsSpan().IndexOf(entry);
                Assert.True(at > 0, "the header spells the entry as the reference writes it");
                "[\"\"]"u8.CopyTo(bytes.AsSpan(at + entry.Length - 4));
                File.WriteAllBytes(path, bytes);
                return (directory, path, "model.norm.weight");
            }
            case "a missing shard":
            {
                var directory = CopyOf(Sharded);
                File.Delete(Path.Combine(directory, "model-00002-of-00002.safetensors"));
                return (directory, Path.Combine(directory, HuggingFaceCheckpoint.IndexFile), "model-00002-of-00002.safetensors");
            }
            case "no weights file":
            {
                var directory = CopyOf(Llama);
                File.Delete(Weights(directory));
                return (directory, directory, HuggingFaceCheckpoint.WeightsFile);
            }
            case "no tokenizer":
            {
                var directory = CopyOf(Llama);
                File.Delete(Path.Combine(directory, "tokenizer.json"));
                return (directory, directory, "tokenizer.json");
            }
            case "a tokenizer with more ids than vocab_size":
            {
                // Another model's tokenizer, 320 ids, beside embeddings of 300 rows.
                var directory = CopyOf(Llama);
                File.Copy(Path.Combine(models.Original(LargerTokenizer), "tokenizer.json"), Path.Combine(directory, "tokenizer.json"), overwrite: true);
                return (directory, Path.Combine(directory, "tokenizer.json"), "vocab_size");
            }
            case "an unsupported architecture":
            {
                var directory = CopyOf(Llama);
                EditConfig(directory, c => c["architectures"] = new JsonArray("GPT2LMHeadModel"));
                return (directory, Path.Combine(directory, LlamaConfig.FileName), "GPT2LMHeadModel");
            }
            case "an unsupported rope scaling":
            {
                var directory = CopyOf(Llama);
                EditConfig(directory, c => c["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0 });
                return (directory, Path.Combine(directory, LlamaConfig.FileName), "yarn");
            }
            default:
                throw new ArgumentException(damage);
        }
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public void ADamagedDirectoryIsRefusedInOneSentenceNamingTheFileAndWhatIsWrong(string damage)
    {
        // Arrange
        var (directory, file, named) = Damage(damage);

        // Act
        var error = Assert.ThrowsAny<Exception>(() => HuggingFaceCheckpoint.Load(directory, CPU).Dispose());

        // Assert
        output.WriteLine(error.Message);
        Assert.IsType<InvalidDataException>(error);
        Assert.Contains(file, error.Message);
        Assert.Contains(named, error.Message);
        Assert.True(IsOneSentence(error.Message), $"not one sentence: {error.Message}");
    }

    [Fact]
    public void TheUndamagedCopiesLoad()
    {
        // Arrange: the same copies the damages start from, so that what refuses them is the damage.
        var single = CopyOf(Llama);
        var sharded = CopyOf(Sharded);

        // Act
        using var one = HuggingFaceCheckpoint.Load(single, CPU);
        using var two = HuggingFaceCheckpoint.Load(sharded, CPU);

        // Assert
        Assert.Equal(("LlamaForCausalLM", "Qwen2ForCausalLM"), (one.Model.Architecture, two.Model.Architecture));
    }

    // One sentence: a single line, no sentence end before its last character (paths and numbers hold dots, not ". ").
    private static bool IsOneSentence(string message) =>
        !message.Contains('\n') && message.TrimEnd().EndsWith('.') && !SentenceEnd().IsMatch(message.TrimEnd()[..^1]);

    [GeneratedRegex(@"[.!?]\s")]
    private static partial Regex SentenceEnd();

    [Fact]
    public void TheSameFilesCopiedElsewhereHaveTheSameVersion()
    {
        // Arrange
        var first = CopyOf(Sharded);
        var second = CopyOf(Sharded);

        // Act
        var versions = new[] { first, second }.Select(VersionOf).ToArray();

        // Assert
        Assert.Equal(versions[0], versions[1]);
        Assert.Matches("^[0-9a-f]{16}$", versions[0]);
    }

    public static TheoryData<string, bool> Changes => new()
    {
        { "one byte of one weight", true },
        { "one byte of the second shard", true },
        { "config.json", true },
        { "tokenizer.json", true },
        { "generation_config.json", true },
        { "a README beside the model", false },
        { "another file beside the model", false },
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public void TheVersionChangesWithWhatChangesAnAnswerAndOnlyThat(string change, bool changesVersion)
    {
        // Arrange
        var directory = CopyOf(Sharded);
        var before = VersionOf(directory);

        // Act
        switch (change)
        {
            case "one byte of one weight":
                FlipLastByte(Path.Combine(directory, "model-00001-of-00002.safetensors"));
                break;
            case "one byte of the second shard":
                FlipLastByte(Path.Combine(directory, "model-00002-of-00002.safetensors"));
                break;
            case "config.json":
                EditConfig(directory, c => c["rms_norm_eps"] = 1e-5);
                break;
            case "tokenizer.json":
                // The same tokenizer written without indentation: other bytes, the same ids.
                var tokenizer = Path.Combine(directory, "tokenizer.json");
                File.WriteAllText(tokenizer, JsonNode.Parse(File.ReadAllText(tokenizer))!.ToJsonString());
                break;
            case "generation_config.json":
                File.WriteAllText(Path.Combine(directory, "generation_config.json"), """{"bos_token_id": 297, "eos_token_id": [299, 298]}""");
                break;
            case "a README beside the model":
                File.WriteAllText(Path.Combine(directory, "README.md"), "# A tiny model\n");
                break;
            case "another file beside the model":
                File.WriteAllText(Path.Combine(directory, "training_args.json"), "{}");
                break;
        }
        var after = VersionOf(directory);

        // Assert
        Assert.Equal(changesVersion, before != after);
    }

    private static string VersionOf(string directory)
    {
        using var model = HuggingFaceCheckpoint.Load(directory, CPU);
        return model.Version;
    }

    // The last byte of the last tensor: the high byte of a float32, so the weight really changes.
    private static void FlipLastByte(string path)
    {
        using var stream = new FileStream(path, FileMode.Open);
        stream.Position = stream.Length - 1;
        var value = stream.ReadByte();
        stream.Position = stream.Length - 1;
        stream.WriteByte((byte)(value ^ 0x01));
    }
}
