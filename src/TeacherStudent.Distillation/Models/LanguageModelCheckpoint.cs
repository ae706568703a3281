using System.Text;
using System.Text.Json;
using TorchSharp;
using TeacherStudent.Distillation.Text;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Models;

/// <summary>
/// A language-model checkpoint file: a magic line, the <see cref="GptSpec"/> as JSON, the
/// tokenizer (the JSON of <see cref="BpeTokenizerFile"/>), then the TorchSharp state dict. The
/// tokenizer travels inside, so one file is a whole teacher (and its version covers the
/// tokenizer); <see cref="Save"/> also writes it beside the checkpoint for other tools.
/// </summary>
public static class LanguageModelCheckpoint
{
    private const string Magic = "TeacherStudent language model v1\n";

    /// <summary>
    /// Writes the model with its spec and tokenizer to <paramref name="path"/> atomically, and the
    /// tokenizer alone to <see cref="TokenizerPath"/>.
    /// </summary>
    public static void Save(string path, GptSpec spec, BpeTokenizer tokenizer, Gpt model)
    {
        tokenizer.Save(TokenizerPath(path));
        Checkpoint.WriteAtomically(path, writer => Write(writer, spec, tokenizer, model));
    }

    /// <summary>Where <see cref="Save"/> puts the tokenizer: beside the checkpoint, as NAME.tokenizer.json.</summary>
    public static string TokenizerPath(string checkpointPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!, Path.GetFileNameWithoutExtension(checkpointPath) + ".tokenizer.json");

    /// <summary>Writes the spec, the tokenizer and the weights into an open writer.</summary>
    public static void Write(BinaryWriter writer, GptSpec spec, BpeTokenizer tokenizer, Gpt model)
    {
        if (spec.VocabularySize < tokenizer.VocabularySize)
            throw new ArgumentException($"the model scores {spec.VocabularySize} tokens, fewer than its tokenizer's {tokenizer.VocabularySize}.");
        writer.Write(Encoding.ASCII.GetBytes(Magic));
        writer.Write(JsonSerializer.Serialize(spec));
        var json = BpeTokenizerFile.ToJson(tokenizer);
        writer.Write(json.Length);
        writer.Write(json);
        model.save(writer);
    }

    /// <summary>Whether the file at <paramref name="path"/> starts like a language-model checkpoint.</summary>
    public static bool IsLanguageModel(string path)
    {
        using var stream = File.OpenRead(path);
        var head = new byte[Magic.Length];
        return stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length && Encoding.ASCII.GetString(head) == Magic;
    }

    /// <summary>
    /// Reads a checkpoint once and rebuilds its model on <paramref name="device"/> in eval mode,
    /// with its tokenizer and the version of exactly those bytes (<see cref="Checkpoint.Digest(string)"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">the file is not a readable language-model checkpoint.</exception>
    public static LanguageModel Load(string path, Device device)
    {
        var bytes = File.ReadAllBytes(path);
        using var reader = new BinaryReader(new MemoryStream(bytes, writable: false));
        try
        {
            var (_, tokenizer, model) = Read(reader, path);
            model.to(device).eval();
            return LanguageModel.OfProject(model, tokenizer, Checkpoint.Digest(bytes));
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or JsonException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path} is not a readable TeacherStudent language-model checkpoint: {e.Message}", e);
        }
    }

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    public static (GptSpec Spec, BpeTokenizer Tokenizer, Gpt Model) Read(BinaryReader reader, string source)
    {
        var magic = Encoding.ASCII.GetString(reader.ReadBytes(Magic.Length));
        if (magic != Magic) throw new InvalidDataException("it does not start with the TeacherStudent language-model header.");
        var spec = (JsonSerializer.Deserialize<GptSpec>(reader.ReadString()) ?? throw new InvalidDataException("its model spec is empty.")).Validate();
        var length = reader.ReadInt32();
        if (length <= 0 || length > reader.BaseStream.Length) throw new InvalidDataException($"its tokenizer length {length} makes no sense.");
        var tokenizer = BpeTokenizerFile.FromJson(reader.ReadBytes(length), $"the tokenizer inside {source}");
        if (spec.VocabularySize < tokenizer.VocabularySize)
            throw new InvalidDataException($"its model scores {spec.VocabularySize} tokens, fewer than its tokenizer's {tokenizer.VocabularySize}.");
        var model = new Gpt(spec);
        try
        {
            model.load(reader);
        }
        catch
        {
            model.Dispose(); // its native memory would otherwise wait for the finalizer
            throw;
        }
        return (spec, tokenizer, model);
    }
}
