using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Tests.Training;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Models;

/// <summary>
/// How <see cref="HuggingFaceCheckpoint.Load"/> reads the weight files: every tensor whole (also one larger
/// than the loader's read chunk), from one file or from shards with gaps and tensors it passes over, and a
/// version that is the digest of the config, weight and tokenizer files, computed here the plain way.
/// </summary>
[Collection(TorchGlobalRandomness.Name)]
public sealed class HuggingFaceCheckpointReadingTests
{
    // A byte-level-free BPE of four tokens, the last an end-of-text: enough for a model directory.
    private const string TinyTokenizer = """
        {"version": "1.0", "truncation": null, "padding": null,
         "added_tokens": [{"id": 3, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
         "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
         "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null, "end_of_word_suffix": null,
                   "fuse_unk": false, "byte_fallback": false, "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}
        """;

    private static readonly SpecialTokens EndOfText = new(null, [3], null);

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void ALoadedModelHoldsEveryWeightItWasSavedWith(ScalarType dtype)
    {
        using var directory = new TemporaryDirectory();
        using var saved = RandomModel(LlamaTests.TinyQwen2);
        Save(directory.Path, saved, dtype);

        using var loaded = HuggingFaceCheckpoint.Load(directory.Path, CPU);

        AssertSameWeights(saved, loaded, dtype);
    }

    [Fact]
    public void ATensorLargerThanOneReadChunkIsReadWhole()
    {
        using var directory = new TemporaryDirectory();
        // A 70000 x 64 float32 embedding is 17.9 MB: more than one 16 MB chunk, and not a whole number of them.
        using var saved = RandomModel(LlamaTests.TinyQwen3 with { VocabularySize = 70_000, Width = 64, Layers = 1 });
        Save(directory.Path, saved, ScalarType.Float32);

        using var loaded = HuggingFaceCheckpoint.Load(directory.Path, CPU);

        AssertSameWeights(saved, loaded, ScalarType.Float32);
    }

    [Fact]
    public void TheVersionIsTheDigestOfTheConfigTheWeightsAndTheTokenizerFiles()
    {
        using var directory = new TemporaryDirectory();
        using var saved = RandomModel(LlamaTests.TinyQwen3);
        Save(directory.Path, saved, ScalarType.BFloat16);

        using var loaded = HuggingFaceCheckpoint.Load(directory.Path, CPU);

        Assert.Equal(Digest(directory.Path, "config.json", "model.safetensors", "tokenizer.json", "generation_config.json"), loaded.Version);
    }

    [Fact]
    public void ShardsWithGapsAndATiedHeadsLeftoverCopyLoadLikeOneFile()
    {
        using var sharded = new TemporaryDirectory();
        using var saved = RandomModel(LlamaTests.TinyQwen3);
        SaveAllButTheWeights(sharded.Path, saved);
        var tensors = saved.state_dict().OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, p.Value)).ToList();
        // transformers ignores the head's copy of a tied embedding; the loader passes over it (and hashes it).
        using var leftover = randn(13, 16);
        tensors.Insert(3, ("lm_head.weight", leftover));
        var half = tensors.Count / 2;
        WriteSafetensors(Path.Combine(sharded.Path, "model-00002-of-00002.safetensors"), tensors[half..], gap: 12);
        WriteSafetensors(Path.Combine(sharded.Path, "model-00001-of-00002.safetensors"), tensors[..half], gap: 4);
        var map = new JsonObject();
        for (int i = 0; i < tensors.Count; i++) map[tensors[i].Key] = i < half ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
        File.WriteAllText(Path.Combine(sharded.Path, HuggingFaceCheckpoint.IndexFile), new JsonObject { ["weight_map"] = map }.ToJsonString());

        using var loaded = HuggingFaceCheckpoint.Load(sharded.Path, CPU);

        AssertSameWeights(saved, loaded, ScalarType.Float32);
        Assert.Equal(Digest(sharded.Path, "config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "tokenizer.json", "generation_config.json"),
            loaded.Version);
    }

    [Fact]
    public void AFileOfMixedDtypesWithUnalignedOffsetsLoadsEveryTensor()
    {
        using var mixed = new TemporaryDirectory();
        using var saved = RandomModel(LlamaTests.TinyQwen3);
        SaveAllButTheWeights(mixed.Path, saved);
        // float32, bfloat16 and float16 in turn, 2 unused bytes before each: a float32 tensor often starts 2 bytes
        // off a multiple of 4, and neighbours of one dtype share the loader's read chunks with others.
        ScalarType[] dtypes = [ScalarType.Float32, ScalarType.BFloat16, ScalarType.Float16];
        var tensors = saved.state_dict().OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select((p, i) => (p.Key, p.Value.to(dtypes[i % 3]))).ToList();
        WriteSafetensors(Path.Combine(mixed.Path, HuggingFaceCheckpoint.WeightsFile), tensors, gap: 2);

        using var loaded = HuggingFaceCheckpoint.Load(mixed.Path, CPU);

        var actual = loaded.Model.state_dict();
        foreach (var (name, tensor) in tensors)
        {
            using var expected = tensor.to(ScalarType.Float32);
            Assert.True(expected.allclose(actual[name], rtol: 0, atol: 0), $"{name} ({tensor.dtype}) differs after loading");
        }
        Assert.Equal(Digest(mixed.Path, "config.json", "model.safetensors", "tokenizer.json", "generation_config.json"), loaded.Version);
        foreach (var (_, tensor) in tensors) tensor.Dispose();
    }

    [Fact]
    public void TensorsWhoseBytesOverlapAreRefusedNamingTheFileAndBoth()
    {
        using var directory = new TemporaryDirectory();
        using var saved = RandomModel(LlamaTests.TinyQwen3);
        Save(directory.Path, saved, ScalarType.Float32);
        var weights = Path.Combine(directory.Path, HuggingFaceCheckpoint.WeightsFile);
        var (header, data) = Split(File.ReadAllBytes(weights));
        // The final norm's offsets moved back by 8 bytes: its first two values are now another tensor's last two.
        var norm = header["model.norm.weight"]!["data_offsets"]!.AsArray();
        var (start, end) = ((long)norm[0]!, (long)norm[1]!);
        Assert.True(start >= 8, "the final norm is not the file's first tensor");
        header["model.norm.weight"]!["data_offsets"] = new JsonArray(start - 8, end - 8);
        File.WriteAllBytes(weights, Join(header, data));

        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceCheckpoint.Load(directory.Path, CPU));

        Assert.Contains(weights, error.Message);
        Assert.Contains("model.norm.weight", error.Message);
        Assert.Contains("overlap", error.Message);
    }

    private static Llama RandomModel(LlamaConfig config)
    {
        manual_seed(14);
        return new Llama(config).InitialiseRandomly(0.5);
    }

    private static void Save(string directory, Llama model, ScalarType dtype)
    {
        var tokenizer = Path.Combine(directory, "source", "tokenizer.json");
        Directory.CreateDirectory(Path.GetDirectoryName(tokenizer)!);
        File.WriteAllText(tokenizer, TinyTokenizer);
        HuggingFaceCheckpoint.Save(directory, model, tokenizer, EndOfText, dtype);
    }

    // The model's directory as Save writes it, without model.safetensors: for tests that write the weights their own way.
    private static void SaveAllButTheWeights(string directory, Llama model)
    {
        using var saved = new TemporaryDirectory();
        Save(saved.Path, model, ScalarType.Float32);
        foreach (var file in (string[])["config.json", "generation_config.json", "tokenizer.json"])
            File.Copy(Path.Combine(saved.Path, file), Path.Combine(directory, file));
    }

    // The loaded float32 weights equal the saved ones rounded to the file's dtype (a rounding, not arithmetic: exact).
    private static void AssertSameWeights(Llama saved, LanguageModel loaded, ScalarType fileDType)
    {
        var expected = saved.state_dict();
        var actual = loaded.Model.state_dict();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, tensor) in expected)
        {
            using var rounded = tensor.to(fileDType).to(ScalarType.Float32);
            Assert.True(rounded.allclose(actual[name], rtol: 0, atol: 0), $"{name} differs after loading");
        }
    }

    // SHA-256 over each file's name, a newline and its bytes, in the order given: the version as the loader defines it.
    private static string Digest(string directory, params string[] files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(file + "\n"));
            hash.AppendData(File.ReadAllBytes(Path.Combine(directory, file)));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    // A safetensors file written here, independently of the project's writer: tensors in their own dtypes (float32,
    // bfloat16, float16) with `gap` unused bytes before each.
    private static void WriteSafetensors(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors, int gap)
    {
        var header = new JsonObject();
        var data = new MemoryStream();
        foreach (var (name, tensor) in tensors)
        {
            data.Write(new byte[gap]);
            var bytes = tensor.contiguous().bytes.ToArray();
            header[name] = new JsonObject
            {
                ["dtype"] = tensor.dtype switch { ScalarType.BFloat16 => "BF16", ScalarType.Float16 => "F16", _ => "F32" },
                ["shape"] = new JsonArray(tensor.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(data.Length, data.Length + bytes.Length),
            };
            data.Write(bytes);
        }
        File.WriteAllBytes(path, Join(header, data.ToArray()));
    }

    private static (JsonObject Header, byte[] Data) Split(byte[] file)
    {
        long length = BitConverter.ToInt64(file, 0);
        return (JsonNode.Parse(file.AsSpan(8, (int)length))!.AsObject(), file[(8 + (int)length)..]);
    }

    private static byte[] Join(JsonObject header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        return [.. BitConverter.GetBytes((long)json.Length), .. json, .. data];
    }
}
