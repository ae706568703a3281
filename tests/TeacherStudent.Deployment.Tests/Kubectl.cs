using System.Diagnostics;
using System.Text.Json;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// The kubectl of this machine (the first on PATH, else /usr/bin/kubectl) and the kustomize built
/// into it, which renders a kustomization without a cluster. A kubectl that does not report its
/// kustomize, or reports one older than v4 (kubectl before 1.24, e.g. Debian 12's 1.20 with
/// kustomize v2, which does not know <c>patches:</c>), counts as absent.
/// </summary>
public static class Kubectl
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>The kubectl that renders, or null (and <see cref="Absence"/> says why).</summary>
    public static string? Path { get; }

    /// <summary>Its kustomize version, e.g. v5.5.0; null without one.</summary>
    public static string? KustomizeVersion { get; }

    /// <summary>Why no kubectl renders here; null when one does.</summary>
    public static string? Absence { get; }

    static Kubectl()
    {
        var found = Find();
        if (found is null)
        {
            Absence = "kubectl is not installed (not on PATH, not /usr/bin/kubectl)";
            return;
        }
        string? kustomize;
        try
        {
            using var json = JsonDocument.Parse(Run(found, "version", "--client", "-o", "json"));
            kustomize = json.RootElement.TryGetProperty("kustomizeVersion", out var v) ? v.GetString() : null;
        }
        catch (Exception e) when (e is InvalidOperationException or JsonException)
        {
            Absence = $"{found} does not tell its version: {e.Message}";
            return;
        }
        if (kustomize is null || !Version.TryParse(kustomize.TrimStart('v').Split('-')[0], out var parsed) || parsed.Major < 4)
        {
            Absence = $"{found} reports kustomize {kustomize ?? "(none)"}, older than the v4 these kustomizations need";
            return;
        }
        (Path, KustomizeVersion) = (found, kustomize);
    }

    /// <summary>What <c>kubectl kustomize <paramref name="directory"/></c> prints: every rendered object, as multi-document YAML.</summary>
    /// <exception cref="InvalidOperationException">kubectl is absent, or failed (its error in the message).</exception>
    public static string Kustomize(string directory) =>
        Run(Path ?? throw new InvalidOperationException(Absence), "kustomize", directory);

    private static string? Find()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => System.IO.Path.Combine(d, "kubectl"))
            .FirstOrDefault(File.Exists);
        return onPath ?? (File.Exists("/usr/bin/kubectl") ? "/usr/bin/kubectl" : null);
    }

    private static string Run(string kubectl, params string[] arguments)
    {
        var info = new ProcessStartInfo(kubectl) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        // Both pipes read at once: one left full would block kubectl writing the other.
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{kubectl} {string.Join(' ', arguments)} did not finish within {Timeout.TotalSeconds} s.");
        }
        process.WaitForExit(); // the pipes drained to their end
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{kubectl} {string.Join(' ', arguments)} failed (exit {process.ExitCode}): {error.Result.Trim()}");
        return output.Result;
    }
}
