using System.Text;
using System.Text.Json.Nodes;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using static TorchSharp.torch;

namespace TeacherStudent.Benchmarks;

/// <summary>
/// A random Qwen3-shaped model of ~141M parameters written as a Hugging Face directory in bfloat16
/// (~282 MB of safetensors) with Qwen3's real tokenizer: once as one <c>model.safetensors</c>, as
/// <see cref="HuggingFaceCheckpoint.Save"/> writes it, and once split into shards with an index,
/// as transformers writes a large model.
/// </summary>
public static class SyntheticModel
{
    // Qwen3-0.6B's vocabulary and proportions of attention, narrower and with fewer layers: the
    // embedding (tied, 78M) is the largest tensor, as it is in every Qwen3 and Llama 3 model.
    public static LlamaConfig Config { get; } = new()
    {
        Architecture = "Qwen3ForCausalLM",
        VocabularySize = 151936,
        Width = 512,
        FeedForwardWidth = 1536,
        Layers = 20,
        Heads = 8,
        KeyValueHeads = 4,
        HeadWidth = 64,
        ContextLength = 4096,
        RopeTheta = 1_000_000,
        QueryKeyNorm = true,
        TiedHead = true,
    };

    public const int Shards = 3;

    /// <summary>Parameters of a model of <see cref="Config"/> (the tied embedding counted once).</summary>
    public static long ParameterCount
    {
        get
        {
            using var model = new Llama(Config);
            return model.parameters().Sum(p => p.NumberOfElements);
        }
    }

    /// <summary>Writes the single-file model to <paramref name="single"/> and its sharded copy to <paramref name="sharded"/>.</summary>
    public static void Write(string single, string sharded, string tokenizerDirectory)
    {
        WriteSingle(single, tokenizerDirectory);
        Shard(single, sharded, Shards);
    }

    /// <summary>Writes the single-file model to <paramref name="directory"/>.</summary>
    public static void WriteSingle(string directory, string tokenizerDirectory)
    {
        using var tokenizer = HuggingFaceTokenizer.Load(tokenizerDirectory);
        using var model = new Llama(Config).InitialiseRandomly();
        var special = SpecialTokens.Read(tokenizerDirectory, tokenizer);
        HuggingFaceCheckpoint.Save(directory, model, tokenizerDirectory, special, ScalarType.BFloat16);
    }

    /// <summary>
    /// Splits <paramref name="source"/>'s <c>model.safetensors</c> into <paramref name="count"/> files of
    /// about equal size (whole tensors, in file order) with a <c>model.safetensors.index.json</c>, and copies the other files.
    /// </summary>
    private static void Shard(string source, string target, int count)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source).Where(f => Path.GetFileName(f) != HuggingFaceCheckpoint.WeightsFile))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);

        var weights = Path.Combine(source, HuggingFaceCheckpoint.WeightsFile);
        using var input = File.OpenRead(weights);
        var lengthBytes = new byte[8];
        input.ReadExactly(lengthBytes);
        long headerLength = BitConverter.ToInt64(lengthBytes);
        var headerBytes = new byte[headerLength];
        input.ReadExactly(headerBytes);
        long dataStart = 8 + headerLength;
        var tensors = JsonNode.Parse(headerBytes)!.AsObject()
            .Where(p => p.Key != "__metadata__")
            .Select(p => (Name: p.Key, Entry: p.Value!.AsObject(), Start: (long)p.Value!["data_offsets"]![0]!, End: (long)p.Value!["data_offsets"]![1]!))
            .OrderBy(t => t.Start).ToArray();
        long total = tensors.Sum(t => t.End - t.Start);

        var weightMap = new JsonObject();
        int next = 0;
        for (int shard = 1; shard <= count; shard++)
        {
            var name = $"model-{shard:D5}-of-{count:D5}.safetensors";
            var members = new List<(string Name, JsonObject Entry, long Start, long End)>();
            long limit = total * shard / count;
            while (next < tensors.Length && (shard == count || members.Count == 0 || tensors[next].End <= limit)) members.Add(tensors[next++]);

            var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
            long offset = 0;
            foreach (var (tensor, entry, start, end) in members)
            {
                header[tensor] = new JsonObject
                {
                    ["dtype"] = (string)entry["dtype"]!,
                    ["shape"] = entry["shape"]!.DeepClone(),
                    ["data_offsets"] = new JsonArray(offset, offset + end - start),
                };
                offset += end - start;
                weightMap[tensor] = name;
            }
            var json = Encoding.UTF8.GetBytes(header.ToJsonString());
            var padded = new byte[(json.Length + 7) / 8 * 8];
            Array.Fill(padded, (byte)' ');
            json.CopyTo(padded, 0);
            using var output = File.Create(Path.Combine(target, name));
            output.Write(BitConverter.GetBytes((long)padded.Length));
            output.Write(padded);
            foreach (var (_, _, start, end) in members)
            {
                input.Position = dataStart + start;
                CopyBytes(input, output, end - start);
            }
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
        File.WriteAllText(Path.Combine(target, HuggingFaceCheckpoint.IndexFile), index.ToJsonString());
    }

    private static void CopyBytes(Stream input, Stream output, long length)
    {
        var buffer = new byte[1 << 20];
        while (length > 0)
        {
            int n = input.Read(buffer, 0, (int)Math.Min(buffer.Length, length));
            if (n == 0) throw new EndOfStreamException();
            output.Write(buffer, 0, n);
            length -= n;
        }
    }
}
