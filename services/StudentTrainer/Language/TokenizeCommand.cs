using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using TeacherStudent.Distillation.Text;

namespace TeacherStudent.StudentTrainer.Language;

/// <summary>
/// <c>tokenize</c>: a model's Hugging Face tokenizer applied to texts, for users who debug how a
/// teacher and a student see the same text. Reads one JSON string per line on stdin (so a text may
/// hold newlines; blank lines are skipped) and writes one JSON object per text on stdout:
/// <c>{"ids":[...],"tokens":[...]}</c>, as Hugging Face encodes by default: special tokens written in
/// the text become their ids, and the file's post-processor adds what it adds (Llama 2's <c>&lt;s&gt;</c>).
/// </summary>
public static class TokenizeCommand
{
    // Token strings are for people to read: keep non-ASCII as itself rather than \uXXXX (the output is JSON lines, never HTML).
    private static readonly JsonWriterOptions Writer = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The command, with its one option <c>--tokenizer</c>.</summary>
    public static Command Create()
    {
        var tokenize = new Command("tokenize",
            "Tokenize texts with a model's tokenizer.json: one JSON string per line on stdin, one {\"ids\",\"tokens\"} object per line on stdout.");
        var tokenizer = new Option<string>("--tokenizer") { Description = "a Hugging Face model directory or its tokenizer.json", Required = true };
        tokenize.Options.Add(tokenizer);
        tokenize.SetAction(async (result, cancellation) =>
        {
            using var input = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
            await using var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
            return await RunAsync(result.GetValue(tokenizer)!, input, output, Console.Error, cancellation);
        });
        return tokenize;
    }

    /// <summary>Tokenizes every line of <paramref name="input"/>; returns the exit code (1 with one line on <paramref name="error"/> for a user mistake).</summary>
    public static async Task<int> RunAsync(string tokenizerPath, TextReader input, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        HuggingFaceTokenizer tokenizer;
        try
        {
            tokenizer = HuggingFaceTokenizer.Load(tokenizerPath);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or JsonException)
        {
            await error.WriteLineAsync(e.Message);
            return 1;
        }
        using (tokenizer)
        {
            var lineNumber = 0;
            while (await input.ReadLineAsync(cancellation) is { } line)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                if (!TryReadString(line, out var text))
                {
                    await error.WriteLineAsync($"Line {lineNumber} of stdin is not a JSON string (write each text as \"...\", newlines as \\n).");
                    return 1;
                }
                var ids = tokenizer.Encode(text);
                await output.WriteLineAsync(Line(ids, tokenizer.Tokens(ids)));
            }
            await output.FlushAsync(cancellation);
            return 0;
        }
    }

    private static bool TryReadString(string line, out string text)
    {
        text = "";
        try
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind != JsonValueKind.String) return false;
            text = document.RootElement.GetString()!;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Line(int[] ids, string?[] tokens)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Writer))
        {
            json.WriteStartObject();
            json.WriteStartArray("ids");
            foreach (var id in ids) json.WriteNumberValue(id);
            json.WriteEndArray();
            json.WriteStartArray("tokens");
            foreach (var token in tokens) json.WriteStringValue(token);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
