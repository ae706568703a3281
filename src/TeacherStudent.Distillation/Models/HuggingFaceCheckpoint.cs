using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using TeacherStudent.Distillation.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// A Hugging Face model directory as a language-model checkpoint: <c>config.json</c> (a
/// <see cref="LlamaConfig"/>), the weights in <c>model.safetensors</c> or in shards listed by
/// <c>model.safetensors.index.json</c> (float32, bfloat16 or float16), <c>tokenizer.json</c>, and
/// when present <c>tokenizer_config.json</c> and <c>generation_config.json</c>. Every tensor is
/// checked against the config before any is read; each file is then read once, front to back, into a model
/// allocated once in the compute dtype, through two 16 MB staging tensors per weight dtype (one is read while the other is hashed and converted), its memory
/// advised into huge pages, the tokenizer read on another thread meanwhile: a load holds the model and little more.
/// </summary>
public static class HuggingFaceCheckpoint
{
    /// <summary>The weights of an unsharded model.</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>The index of a sharded model's weights: tensor name -> shard file.</summary>
    public const string IndexFile = "model.safetensors.index.json";

    // The small files whose bytes, with the config and the weights, make a version: all that changes an answer.
    private static readonly string[] VersionedFiles = [HuggingFaceTokenizer.FileName, "tokenizer_config.json", "generation_config.json"];

    /// <summary>Whether <paramref name="path"/> is a directory holding a <c>config.json</c>.</summary>
    public static bool IsModelDirectory(string path) => Directory.Exists(path) && File.Exists(Path.Combine(path, LlamaConfig.FileName));

    /// <summary>
    /// Loads the model in <paramref name="directory"/> onto <paramref name="device"/> in eval mode. The weights
    /// compute in <paramref name="computeDType"/>; by default float32 on a CPU (where bfloat16 and float16
    /// matrix products are slow or missing) and the weights' own dtype elsewhere.
    /// </summary>
    /// <exception cref="InvalidDataException">a file is missing or unreadable, the architecture or a setting is not supported, or a tensor is missing, of the wrong shape or of an unknown dtype; the message names the file and the tensor.</exception>
    public static LanguageModel Load(string directory, Device device, ScalarType? computeDType = null)
    {
        if (!IsModelDirectory(directory))
            throw new InvalidDataException($"{directory} is not a Hugging Face model directory (it has no {LlamaConfig.FileName}).");
        var config = LlamaConfig.Read(Path.Combine(directory, LlamaConfig.FileName));
        var (tensors, weightsFile, shardOf) = ReadHeaders(directory);
        var weightDType = WeightDType(tensors);
        var dtype = computeDType ?? (device.type == DeviceType.CPU ? ScalarType.Float32 : weightDType);

        if (!File.Exists(Path.Combine(directory, HuggingFaceTokenizer.FileName)))
            throw new InvalidDataException($"{directory} has no {HuggingFaceTokenizer.FileName}: a Hugging Face model is served with its own tokenizer.");
        // The tokenizer (a file of often 10 MB, parsed for its vocabulary and by the native library) is read on
        // another thread while this one reads the weights: on a CPU the two take about as long.
        var reading = Task.Run(() => HuggingFaceTokenizer.Load(directory));
        Llama? model = null;
        HuggingFaceTokenizer? tokenizer = null;
        try
        {
            model = new Llama(config, dtype, device);
            using var version = new VersionDigest(directory);
            Fill(model, config, tensors, weightsFile, shardOf, version);
            model.eval();
            tokenizer = reading.GetAwaiter().GetResult();
            if (tokenizer.VocabularySize > config.VocabularySize)
                throw new InvalidDataException($"{tokenizer.Path} has {tokenizer.VocabularySize} ids but the model scores only {config.VocabularySize} (vocab_size).");
            var special = SpecialTokens.Read(directory, tokenizer);
            var described = new LanguageModelFacts(ParameterCount: model.ParameterCount(), WeightDType: DTypeName(weightDType), ComputeDType: DTypeName(dtype));
            return new LanguageModel(model, tokenizer, special, version.Finish(), described);
        }
        catch
        {
            model?.Dispose();
            if (tokenizer is not null) tokenizer.Dispose();
            else _ = reading.ContinueWith(DisposeOrObserve, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            throw;
        }
    }

    // The tokenizer of a load that failed for another reason: disposed when it is read, its own failure observed.
    private static void DisposeOrObserve(Task<HuggingFaceTokenizer> reading)
    {
        if (reading.IsCompletedSuccessfully) reading.Result.Dispose();
        else _ = reading.Exception;
    }

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="directory"/> as transformers and vLLM read it:
    /// <c>config.json</c>, <c>model.safetensors</c> in <paramref name="dtype"/>, <c>generation_config.json</c>
    /// (its special tokens), and the tokenizer files copied from <paramref name="tokenizerSource"/>
    /// (a model directory or a <c>tokenizer.json</c>). Each file is written whole or not at all, and
    /// <c>config.json</c> last.
    /// </summary>
    public static void Save(string directory, Llama model, string tokenizerSource, SpecialTokens special, ScalarType dtype = ScalarType.Float32)
    {
        Directory.CreateDirectory(directory);
        var sourceDirectory = Directory.Exists(tokenizerSource) ? tokenizerSource : Path.GetDirectoryName(Path.GetFullPath(tokenizerSource))!;
        var tokenizerFile = Directory.Exists(tokenizerSource) ? Path.Combine(tokenizerSource, HuggingFaceTokenizer.FileName) : tokenizerSource;
        if (!File.Exists(tokenizerFile)) throw new FileNotFoundException($"No {HuggingFaceTokenizer.FileName} at {tokenizerSource} to save with the model.", tokenizerFile);

        var config = model.Config with
        {
            BeginOfSequenceId = special.BeginOfSequence,
            EndOfSequenceId = special.EndOfSequence.Count > 0 ? special.EndOfSequence[0] : null,
        };
        var generation = new JsonObject
        {
            ["bos_token_id"] = special.BeginOfSequence,
            // One id as a number, several as a list (Llama 3 instruct), none as null: transformers refuses an empty list.
            ["eos_token_id"] = special.EndOfSequence.Count switch
            {
                0 => null,
                1 => special.EndOfSequence[0],
                _ => new JsonArray(special.EndOfSequence.Select(id => (JsonNode)id).ToArray()),
            },
            ["pad_token_id"] = special.Padding,
        };
        WriteJson(Path.Combine(directory, "generation_config.json"), generation);
        SafetensorsFile.Write(Path.Combine(directory, WeightsFile), model.state_dict().Select(p => (p.Key, p.Value)).ToArray(), dtype);
        CopyInto(directory, tokenizerFile);
        foreach (var name in (string[])["tokenizer_config.json", "special_tokens_map.json"])
            if (File.Exists(Path.Combine(sourceDirectory, name))) CopyInto(directory, Path.Combine(sourceDirectory, name));
        // Last: a directory holding config.json is a model directory (IsModelDirectory), so a watcher that
        // sees it appear sees every other file already in place.
        WriteJson(Path.Combine(directory, LlamaConfig.FileName), config.ToJson(DTypeName(dtype)));
    }

    private static void WriteJson(string path, JsonNode json) =>
        Checkpoint.WriteAtomically(path, writer => writer.Write(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }))));

    private static void CopyInto(string directory, string file)
    {
        var target = Path.Combine(directory, Path.GetFileName(file));
        if (Path.GetFullPath(target) != Path.GetFullPath(file)) Checkpoint.WriteAtomically(target, writer => writer.Write(File.ReadAllBytes(file)));
    }

    /// <summary>
    /// Where each tensor is and what it claims to be, from the safetensors headers (no tensor bytes are read), and
    /// the file that lists the weights (<c>model.safetensors</c> or the shards' index), for messages about a missing one.
    /// </summary>
    // Every tensor's header entry, the file a missing tensor is reported against, and (sharded) the shard the index puts each tensor in.
    private static (Dictionary<string, TensorEntry> Tensors, string WeightsFile, IReadOnlyDictionary<string, string> ShardOf) ReadHeaders(string directory)
    {
        var single = Path.Combine(directory, WeightsFile);
        var index = Path.Combine(directory, IndexFile);
        IEnumerable<string> files;
        IReadOnlyDictionary<string, string> shardOf = new Dictionary<string, string>();
        if (File.Exists(single)) files = [single];
        else if (File.Exists(index))
        {
            shardOf = WeightMap(index);
            files = shardOf.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(shard => Path.Combine(directory, shard)).ToArray();
        }
        else throw new InvalidDataException($"{directory} has neither {WeightsFile} nor {IndexFile}.");

        var tensors = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new InvalidDataException($"{index} names the shard {Path.GetFileName(file)}, which is not in {directory}.");
            foreach (var entry in SafetensorsFile.ReadHeader(file))
                if (!tensors.TryAdd(entry.Name, entry))
                    throw new InvalidDataException($"tensor {entry.Name} is in both {Path.GetFileName(tensors[entry.Name].File)} and {Path.GetFileName(file)}.");
        }
        return (tensors, File.Exists(single) ? single : index, shardOf);
    }

    // The index's weight_map: tensor name -> shard file.
    private static Dictionary<string, string> WeightMap(string index)
    {
        try
        {
            var map = JsonNode.Parse(File.ReadAllBytes(index))?["weight_map"] as JsonObject
                      ?? throw new InvalidDataException($"{index} has no weight_map.");
            return map.ToDictionary(pair => pair.Key,
                pair => (string?)pair.Value ?? throw new InvalidDataException($"{index} names no file for tensor {pair.Key}."), StringComparer.Ordinal);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{index} is not valid JSON: {e.Message}", e);
        }
    }

    // The dtype the weights were saved in: the one their floating tensors share (a norm kept in float32 beside bfloat16 matrices counts less).
    private static ScalarType WeightDType(Dictionary<string, TensorEntry> tensors) =>
        tensors.Values.GroupBy(t => t.DType).MaxBy(g => g.Sum(t => t.Elements))?.Key ?? ScalarType.Float32;

    // Bytes read from a weight file at a time: each chunk is read once into a staging tensor, hashed for the
    // version and converted into its parameter. (TorchSharp.PyBridge's LoadStateDict, read before, parses the
    // header again for every tensor and reads each into a new managed array, then a tensor, then the parameter:
    // a peak of 1.56x the float32 weights and a second pass over every file for the version.)
    private const int ChunkBytes = 16 << 20;

    /// <summary>
    /// Checks every tensor the model needs against the files, then reads each weight file once, front to back
    /// and in the version's order: every byte goes into <paramref name="version"/>, and each tensor's bytes are
    /// copied into its parameter, chunk by chunk, as they pass.
    /// </summary>
    private static void Fill(Llama model, LlamaConfig config, Dictionary<string, TensorEntry> tensors, string weightsFile,
        IReadOnlyDictionary<string, string> shardOf, VersionDigest version)
    {
        var parameters = model.state_dict();
        foreach (var (name, parameter) in parameters)
        {
            if (!tensors.TryGetValue(name, out var entry))
                throw new InvalidDataException(shardOf.TryGetValue(name, out var shard)
                    ? $"{Path.Combine(Path.GetDirectoryName(weightsFile)!, shard)}: tensor {name} is missing, though {Path.GetFileName(weightsFile)} puts it there, and a {config.Architecture} with this config.json needs it."
                    : $"{weightsFile}: tensor {name} is missing, and a {config.Architecture} with this config.json needs it.");
            if (!entry.Shape.SequenceEqual(parameter.shape))
                throw new InvalidDataException($"{entry.File}: tensor {name} has shape [{string.Join(", ", entry.Shape)}], but config.json makes it [{string.Join(", ", parameter.shape)}].");
        }
        foreach (var name in tensors.Keys)
            if (!parameters.ContainsKey(name) && !Ignorable(name, config))
                throw new InvalidDataException($"{tensors[name].File}: tensor {name} has no place in a {config.Architecture} with this config.json.");
        var files = tensors.Values.GroupBy(t => t.File).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (File: g.Key, Entries: g.OrderBy(t => t.Start).ToArray())).ToArray();
        foreach (var (file, entries) in files)
            for (int i = 1; i < entries.Length; i++)
                if (entries[i].Start < entries[i - 1].End)
                    throw new InvalidDataException($"{file}: tensors {entries[i - 1].Name} and {entries[i].Name} overlap.");

        using var noGrad = no_grad(); // here; each copy enters its own on its pool thread
        using var reader = new WeightReader(version);
        var lengthBytes = new byte[8];
        foreach (var (file, entries) in files)
        {
            using var stream = version.Open(file);
            stream.ReadExactly(lengthBytes);
            version.Add(lengthBytes);
            long dataStart = 8 + BitConverter.ToInt64(lengthBytes); // the tensors' offsets count from here
            version.Skip(stream, dataStart - stream.Position); // the header, read and checked before
            // A tensor Ignorable lets pass is read and hashed, and goes nowhere.
            reader.Read(stream, stream.Length - dataStart, entries.Select(e => (e, parameters.GetValueOrDefault(e.Name))).ToArray());
        }
    }

    // A tied model may still carry its head's copy (transformers ignores it); old checkpoints saved the rotary frequencies.
    private static bool Ignorable(string name, LlamaConfig config) =>
        (config.TiedHead && name == "lm_head.weight") || name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);

    /// <summary>
    /// The version of a model directory: SHA-256 over the config, the weight files and the tokenizer files, each
    /// after its name, in a fixed order; the first 16 hex digits. The weight files enter it as <see cref="Fill"/>
    /// reads them, so that a load reads each of their bytes once.
    /// </summary>
    private sealed class VersionDigest : IDisposable
    {
        private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly string directory;
        private readonly byte[] buffer = new byte[1 << 20];

        public VersionDigest(string directory)
        {
            this.directory = directory;
            AddFile(Path.Combine(directory, LlamaConfig.FileName));
        }

        /// <summary>Opens <paramref name="file"/> for one pass front to back, its name already in the digest; its bytes go in as they are read.</summary>
        public FileStream Open(string file)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\n"));
            return new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        }

        public void Add(ReadOnlySpan<byte> bytes) => hash.AppendData(bytes);

        /// <summary>Reads the next <paramref name="count"/> bytes of <paramref name="stream"/> into the digest only.</summary>
        public void Skip(Stream stream, long count)
        {
            if (count < 0) throw new InvalidOperationException("a weight file is read front to back");
            while (count > 0)
            {
                int n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
                if (n == 0) throw new EndOfStreamException();
                hash.AppendData(buffer, 0, n);
                count -= n;
            }
        }

        /// <summary>The tokenizer files, then the version.</summary>
        public string Finish()
        {
            foreach (var file in VersionedFiles.Select(f => Path.Combine(directory, f)).Where(File.Exists)) AddFile(file);
            return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
        }

        private void AddFile(string file)
        {
            using var stream = Open(file);
            Skip(stream, stream.Length);
        }

        public void Dispose() => hash.Dispose();
    }

    /// <summary>
    /// Reads a weight file's data, front to back, in chunks of up to 16 MB, each into one of two staging tensors
    /// per weight dtype: while a chunk is hashed into the version and its tensors' parts are converted into their
    /// parameters (on two pool threads: the hash, and the copies that write the parameters' fresh memory), the
    /// next is read from the file. A chunk holds as many tensors as fit, so a model of many small tensors costs
    /// no more handovers than one of a few large ones; it ends before a tensor of another dtype (or one whose
    /// elements would not line up with the staging tensor's). Chunks go into the version strictly in file order:
    /// each waits for the one before.
    /// </summary>
    private sealed class WeightReader(VersionDigest version) : IDisposable
    {
        private readonly Dictionary<ScalarType, Tensor[]> staging = [];
        private Task pending = Task.CompletedTask;
        private int turn;

        /// <summary>
        /// Reads the next <paramref name="length"/> bytes of <paramref name="stream"/>, a file's data, copying each
        /// tensor of <paramref name="tensors"/> (in file order, offsets from the data's start) into its parameter,
        /// converted to the parameter's dtype and device; a tensor without one is only hashed. Returns when every
        /// byte is in the version; a failed copy is thrown here.
        /// </summary>
        public void Read(Stream stream, long length, IReadOnlyList<(TensorEntry Entry, Tensor? Parameter)> tensors)
        {
            int first = 0; // the first tensor that does not end before the chunk
            for (long start = 0; start < length;)
            {
                while (first < tensors.Count && tensors[first].Entry.End <= start) first++;
                // The dtype of the tensor the chunk starts in or before; after the last tensor, the last one's.
                var dtype = tensors.Count == 0 ? ScalarType.Byte : tensors[Math.Min(first, tensors.Count - 1)].Entry.DType;
                int size = ParameterMemory.ElementBytes(dtype);
                long end = Math.Min(start + ChunkBytes, length);
                for (int i = first; i < tensors.Count && tensors[i].Entry.Start < end; i++)
                {
                    var entry = tensors[i].Entry;
                    if (entry.Start > start && (entry.DType != dtype || (entry.Start - start) % size != 0)) end = entry.Start;
                }
                int count = (int)(end - start);
                var buffer = Staging(dtype)[turn];
                turn ^= 1;
                stream.ReadExactly(buffer.bytes[..count]); // free: the chunk that used it last finished before the previous one started
                Wait();
                var parts = new List<(Tensor Source, Tensor Target)>();
                for (int i = first; i < tensors.Count && tensors[i].Entry.Start < end; i++)
                {
                    var (entry, parameter) = tensors[i];
                    if (parameter is null) continue;
                    long from = Math.Max(entry.Start, start), to = Math.Min(entry.End, end);
                    using var flat = parameter.view(-1);
                    parts.Add((buffer.narrow(0, (from - start) / size, (to - from) / size), flat.narrow(0, (from - entry.Start) / size, (to - from) / size)));
                }
                pending = Task.WhenAll(Task.Run(() => version.Add(buffer.bytes[..count])), Task.Run(() => CopyAll(parts)));
                start = end;
            }
            Wait(); // the file's last chunk is in the version before whatever comes next
        }

        private static void CopyAll(List<(Tensor Source, Tensor Target)> parts)
        {
            using var noGrad = no_grad(); // grad mode is per thread
            try
            {
                foreach (var (source, target) in parts) target.copy_(source);
            }
            finally
            {
                foreach (var (source, target) in parts)
                {
                    source.Dispose();
                    target.Dispose();
                }
            }
        }

        // Two chunks of one dtype, on the CPU, where bytes can be read into.
        private Tensor[] Staging(ScalarType dtype)
        {
            if (!staging.TryGetValue(dtype, out var buffers))
            {
                long elements = ChunkBytes / ParameterMemory.ElementBytes(dtype);
                staging[dtype] = buffers = [empty(elements, dtype), empty(elements, dtype)];
            }
            return buffers;
        }

        private void Wait() => pending.GetAwaiter().GetResult();

        public void Dispose()
        {
            // A chunk still in flight (a read or a check failed) finishes before its buffers go; its own failure adds nothing.
            try
            {
                Wait();
            }
            catch (Exception)
            {
            }
            foreach (var buffer in staging.Values.SelectMany(b => b)) buffer.Dispose();
        }
    }

    /// <summary>The name transformers gives a dtype (torch_dtype): float32, bfloat16, float16.</summary>
    public static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float64 => "float64",
        _ => dtype.ToString().ToLowerInvariant(),
    };
}
