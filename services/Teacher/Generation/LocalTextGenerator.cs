using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.Teacher.Registry;

namespace TeacherStudent.Teacher.Generation;

/// <summary>
/// One Generate call's view of a language-model teacher version held here: prompts are read as the
/// start of a new text (after end-of-text, as in training), samples go through the version's
/// <see cref="GenerationBatcher"/>, and each sample's draws are seeded by the request's seed, the
/// prompt and the sample index, so the same request always gets the same text.
/// </summary>
/// <param name="deadline">The call's deadline (UTC; <see cref="DateTime.MaxValue"/> for none): a sample still waiting for room a little before it is refused.</param>
public sealed class LocalTextGenerator(LoadedTeacher teacher, GenerationBatcher batcher, DateTime deadline) : ITextGenerator
{
    private readonly object caller = new();  // this call's samples share runs fairly with other calls'
    private readonly ConcurrentDictionary<string, int[]> encoded = new(StringComparer.Ordinal);
    private readonly LanguageModel language = teacher.Language
        ?? throw new ArgumentException($"teacher '{teacher.Name}' is not a language model.", nameof(teacher));

    public string Version => teacher.Version;

    /// <summary>The version and the dtype the model computes in: the same files in bfloat16 write other text than in float32.</summary>
    public string CacheScope => $"{teacher.Version} {language.Facts.ComputeDType}";

    /// <summary>
    /// The prompt ids (as the tokenizer encodes the text, with the bos it adds), or INVALID_ARGUMENT when a prompt leaves the model
    /// no room to write or gives no ids at all. Called for every prompt before anything is generated, so that a
    /// bad prompt fails the call before it starts.
    /// </summary>
    public int[] Encode(string prompt, int promptIndex = -1)
    {
        var ids = encoded.GetOrAdd(prompt, Prompt);
        if (ids.Length == 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"{(promptIndex >= 0 ? $"prompt {promptIndex}" : "a prompt")} is empty and teacher '{teacher.Name}' has no beginning-of-sequence token to start from; give it some text."));
        int context = language.ContextLength;
        if (ids.Length >= context)
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"{(promptIndex >= 0 ? $"prompt {promptIndex}" : "a prompt")} is {ids.Length} tokens; teacher '{teacher.Name}' reads at most {context - 1} tokens of prompt, so that it can write at least one."));
        return ids;
    }

    /// <summary>
    /// <see cref="Encode"/>, and INVALID_ARGUMENT when one sample of the prompt with <paramref name="settings"/> would need more
    /// key-value cache than the teacher may hold at once (Generation:MaxKvTokens): it could never run, however long it waited.
    /// </summary>
    public void Check(string prompt, int promptIndex, GenerationSettings settings)
    {
        var ids = Encode(prompt, promptIndex);
        int reservation = batcher.Reservation(new GenerationRow(ids, settings.Temperature, settings.TopP, settings.MaxNewTokens, 0));
        if (reservation > batcher.MaxKvTokens)
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"a sample of prompt {promptIndex} needs {reservation} tokens of key-value cache ({ids.Length} of prompt and {reservation - ids.Length} new), "
                + $"more than teacher '{teacher.Name}' holds at once ({batcher.MaxKvTokens}, Generation:MaxKvTokens); ask for fewer max_new_tokens or give a shorter prompt."));
    }

    // A text the tokenizer gives no ids (the empty one, for a tokenizer that adds nothing around a text) is
    // continued from the model's beginning-of-sequence token, as transformers' generate() starts without input ids.
    private int[] Prompt(string text)
    {
        var ids = language.Prompt(text);
        return ids.Length == 0 && language.Special.BeginOfSequence is { } bos ? [bos] : ids;
    }

    public async Task<GeneratedText> GenerateAsync(string prompt, int sampleIndex, GenerationSettings settings, CancellationToken cancellationToken)
    {
        var ids = Encode(prompt);
        var row = new GenerationRow(ids, settings.Temperature, settings.TopP, settings.MaxNewTokens, SeedOf(settings.Seed, sampleIndex, prompt));
        Func<IReadOnlyList<int>, bool>? stop = settings.Stop.Count == 0 ? null : tokens => FirstStop(Decode(tokens), settings.Stop) >= 0;
        var result = await batcher.GenerateAsync(row, stop, caller, deadline, cancellationToken);

        var text = Decode(result.Tokens);
        if (result.End == GenerationEnd.Stopped) text = text[..FirstStop(text, settings.Stop)];
        var finish = result.End == GenerationEnd.Length ? FinishReason.Length : FinishReason.Stop;
        return new GeneratedText(text, finish, result.PromptTokens, result.CompletionTokens);
    }

    private string Decode(IReadOnlyList<int> tokens) =>
        language.Tokenizer.Decode(tokens is int[] array ? array : tokens.ToArray());

    // Where the first stop sequence starts in the text, or -1.
    private static int FirstStop(string text, IReadOnlyList<string> stops)
    {
        int first = -1;
        foreach (var stop in stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        return first;
    }

    /// <summary>The seed of one sample's draws: a hash of the request's seed, the sample index and the prompt.</summary>
    public static ulong SeedOf(long seed, int sampleIndex, string prompt)
    {
        var hash = new XxHash64();
        hash.Append(MemoryMarshal.AsBytes([seed]));
        hash.Append(MemoryMarshal.AsBytes([sampleIndex]));
        hash.Append(Encoding.UTF8.GetBytes(prompt));
        return hash.GetCurrentHashAsUInt64();
    }
}
