using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace TeacherStudent.Testing;

/// <summary>
/// The independent reference for the Llama-family decoder: <c>Reference/hf_llama_reference.py</c>, a short script
/// written from transformers' semantics and run by Debian's Python with python3-torch (<c>/usr/bin/python3</c>;
/// test.sh installs the package). It writes tiny random models as real Hugging Face directories and computes
/// their log-probabilities in float64, from the same files the C# model loads.
/// </summary>
public static class HuggingFaceReference
{
    /// <summary>Debian's Python, which sees python3-torch (the <c>python3</c> first on PATH may be another one).</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>The wrong forwards <see cref="LogProbs"/> can compute, for tests to show they tell each from the right one.</summary>
    public static readonly IReadOnlyList<string> Variants = ["none", "interleaved-rope", "kv-heads-tiled", "no-bias", "bf16-as-f16"];

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>The script: copied beside the test assembly by the build, else read from the source tree.</summary>
    public static string Script => FindScript();

    /// <summary>
    /// Writes a tiny random model to <paramref name="directory"/> (created if missing): config.json,
    /// model.safetensors (or two shards and their index), tokenizer.json, tokenizer_config.json, generation_config.json.
    /// </summary>
    public static void WriteModel(string directory, TinyModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Run(["write", directory, .. options.Arguments()], input: "");
    }

    /// <summary>
    /// The reference's <c>log_softmax(logits[..., :vocabulary] / temperature)</c> of the model in
    /// <paramref name="directory"/> for <paramref name="rows"/> of token ids (all the same length) at positions
    /// 0..L-1, as [row][position][token]; <paramref name="vocabulary"/> null keeps all of config.json's vocab_size.
    /// A <paramref name="variant"/> other than "none" (one of <see cref="Variants"/>) is a deliberately wrong forward;
    /// the script refuses a variant that would change nothing for the model.
    /// </summary>
    public static double[][][] LogProbs(string directory, IReadOnlyList<int[]> rows, double temperature, int? vocabulary = null, string variant = "none")
    {
        ArgumentNullException.ThrowIfNull(rows);
        List<string> arguments = ["logprobs", directory, "--temperature", temperature.ToString("R", CultureInfo.InvariantCulture), "--variant", variant];
        if (vocabulary is { } v) arguments.AddRange(["--vocabulary", v.ToString(CultureInfo.InvariantCulture)]);
        var output = Run(arguments, JsonSerializer.Serialize(rows));
        return JsonSerializer.Deserialize<double[][][]>(output)
            ?? throw new InvalidDataException($"{Script} logprobs wrote no log-probabilities.");
    }

    private static string Run(IReadOnlyList<string> arguments, string input)
    {
        if (!File.Exists(Python))
            throw new InvalidOperationException($"{Python} is missing: the Hugging Face reference needs Debian's python3 with python3-torch (test.sh installs it).");
        var info = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(Script);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        info.Environment["OMP_NUM_THREADS"] = "1"; // tiny models; tests run beside each other on two cores
        var command = $"{Python} {Script} {string.Join(' ', arguments)}";

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {command}");
        // Both pipes are drained while stdin is written, so that neither side blocks on a full pipe.
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(input);
        process.StandardInput.Close();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} did not finish within {Timeout}.");
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            var stderr = error.Result.Trim();
            var hint = stderr.Contains("No module named 'torch'", StringComparison.Ordinal)
                ? "\n(install Debian's python3-torch: apt-get install python3-torch; test.sh does)" : "";
            throw new InvalidOperationException($"{command} failed (exit {process.ExitCode}):\n{stderr}{hint}");
        }
        return output.Result;
    }

    private static string FindScript()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "Reference", "hf_llama_reference.py");
        if (File.Exists(beside)) return beside;
        var source = Path.Combine(Builds.RepositoryRoot, "tests", "TeacherStudent.Testing", "Reference", "hf_llama_reference.py");
        return File.Exists(source) ? source : throw new FileNotFoundException($"hf_llama_reference.py is neither at {beside} nor at {source}.");
    }
}
