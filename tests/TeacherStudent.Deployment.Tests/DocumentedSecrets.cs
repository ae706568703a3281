using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// The Secrets as the documentation's own commands make them: a <c>```bash</c> block of k8s/README.md
/// or README.md, run with bash against <see cref="FakeKubectl"/>, a stand-in for kubectl that keeps
/// each Secret as a folder of files (one per key, the value as kubectl would store it) and knows
/// only the commands those blocks use. What the manifests read is checked against what the reader's
/// copy-and-paste would really create, quoting and all, with no cluster. The TLS commands make a
/// certificate authority and a certificate with the real openssl, which must be on PATH.
/// </summary>
public static partial class DocumentedSecrets
{
    /// <summary>The section of k8s/README.md whose first bash block creates the namespace's Secrets.</summary>
    public const string CreationSection = "## The Secrets you create";

    /// <summary>The section of k8s/README.md with the rotation commands.</summary>
    public const string RotationSection = "## Rotating keys";

    /// <summary>The section of k8s/README.md on the component components/teacher-tls: its Secrets, made with openssl or cert-manager.</summary>
    public const string TlsSection = "## TLS between students and teachers";

    /// <summary>The marker of the block in <see cref="TlsSection"/> that makes a certificate authority, the teachers' certificate and both Secrets.</summary>
    public const string TlsCreation = "openssl req -x509";

    private static readonly Lazy<List<Secret>> Created = new(() =>
    {
        using var cluster = new Cluster();
        cluster.Run(Block("k8s/README.md", CreationSection, "create secret generic"));
        return cluster.Secrets();
    });

    private static readonly Lazy<List<Secret>> CreatedForTls = new(() =>
    {
        using var cluster = new Cluster(realOpenssl: true);
        cluster.Run(Block("k8s/README.md", TlsSection, TlsCreation));
        return cluster.Secrets();
    });

    /// <summary>A Secret in the stand-in cluster: its namespace, name, keys with their values, and type.</summary>
    public sealed record Secret(string Namespace, string Name, Dictionary<string, string> Data, string Type = "Opaque");

    /// <summary>The Secrets that k8s/README.md's creation commands make (run once per test run).</summary>
    public static IReadOnlyList<Secret> AsK8sReadmeCreatesThem => Created.Value;

    /// <summary>The Secrets that the openssl commands of k8s/README.md's TLS section make (run once per test run, with the real openssl).</summary>
    public static IReadOnlyList<Secret> AsTlsSectionCreatesThem => CreatedForTls.Value;

    /// <summary>
    /// The one <c>```bash</c> block (or <c>```</c><paramref name="language"/>) in section <paramref name="heading"/>
    /// (a "## " line, up to the next one) of <paramref name="page"/> (relative to the repository root) that
    /// contains <paramref name="marker"/>.
    /// </summary>
    public static string Block(string page, string heading, string marker, string language = "bash")
    {
        var text = File.ReadAllText(Path.Combine(Builds.RepositoryRoot, page)).ReplaceLineEndings("\n");
        int start = text.IndexOf($"\n{heading}\n", StringComparison.Ordinal);
        if (start < 0) throw new Xunit.Sdk.XunitException($"{page} has no heading '{heading}'.");
        int end = text.IndexOf("\n## ", start + heading.Length + 1, StringComparison.Ordinal);
        var section = end < 0 ? text[start..] : text[start..end];
        var blocks = FencedBlock().Matches(section).Where(m => m.Groups[1].Value == language).Select(m => m.Groups[2].Value)
            .Where(b => b.Contains(marker, StringComparison.Ordinal)).ToList();
        return blocks.Count == 1
            ? blocks[0]
            : throw new Xunit.Sdk.XunitException($"section '{heading}' of {page} has {blocks.Count} {language} blocks containing '{marker}'; expected one.");
    }

    [GeneratedRegex(@"\n```(\w*)\n(.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex FencedBlock();

    /// <summary>
    /// kubectl as the documentation uses it, for Secrets only: <c>create secret generic</c> (values
    /// <c>--from-literal=KEY=VALUE</c>, <c>--from-file=KEY=PATH</c> or <c>--from-file=PATH</c>) and
    /// <c>create secret tls NAME --cert=PATH --key=PATH</c> (with <c>--dry-run=client -o yaml</c>, a
    /// document that <c>replace -f -</c> or <c>apply -f -</c> stores), <c>get secret NAME -o
    /// jsonpath={.data.KEY}</c> (a dot in KEY written <c>\.</c>); every other command it knows (apply of
    /// a file, label, rollout, get pods, exec, ...) is logged and does nothing; one it does not know
    /// fails. A Secret's type is kept beside its keys as the file <c>..type</c>, a name no key can
    /// have (Kubernetes refuses keys that start with "..").
    /// </summary>
    private const string FakeKubectl = """
        #!/usr/bin/env bash
        set -euo pipefail
        state="$FAKE_CLUSTER"
        ns=default out="" dry="" tls_cert="" tls_key="" words=() literals=() files=()
        while (($#)); do
          case "$1" in
            -n|--namespace) ns="$2"; shift ;;
            --namespace=*) ns="${1#--namespace=}" ;;
            -o) out="$2"; shift ;;
            -o*) out="${1#-o}" ;;
            --dry-run=client) dry=yes ;;
            --from-literal=*) literals+=("${1#--from-literal=}") ;;
            --from-file=*) files+=("${1#--from-file=}") ;;
            --from-env-file=*) echo "fake kubectl: --from-env-file is not modelled: $1" >&2; exit 2 ;;
            --cert=*) tls_cert="${1#--cert=}" ;;
            --key=*) tls_key="${1#--key=}" ;;
            *) words+=("$1") ;;
          esac
          shift
        done
        printf '%s\n' "${words[*]}" >> "$state/commands"
        # A Secret's document: "# secret NAMESPACE NAME TYPE", then "KEY BASE64" per key.
        store() {
          local doc="$1" header namespace name type key value dir
          header=$(printf '%s\n' "$doc" | head -n 1)
          read -r _ _ namespace name type <<< "$header"
          dir="$state/secrets/$namespace/$name"
          if [[ $2 == create && -e $dir ]]; then echo "Error from server (AlreadyExists): secrets \"$name\" already exists" >&2; exit 1; fi
          if [[ $2 == replace && ! -e $dir ]]; then echo "Error from server (NotFound): secrets \"$name\" not found" >&2; exit 1; fi
          rm -rf "$dir"; mkdir -p "$dir"
          while read -r key value; do printf '%s' "$value" | base64 -d > "$dir/$key"; done < <(printf '%s\n' "$doc" | tail -n +2)
          printf '%s' "$type" > "$dir/..type"
          # Each version kept as history/NNNN/NAMESPACE/NAME, in order.
          version="$state/history/$(printf '%04d' "$(ls "$state/history" | wc -l)")/$namespace"
          mkdir -p "$version"; cp -r "$dir" "$version/$name"
        }
        case "${words[0]:-} ${words[1]:-}" in
          "create secret")
            # A file's bytes as base64 on one line, after kubectl's own error where it cannot read the file.
            readable() { [[ -f $1 && -r $1 ]] || { echo "error: error reading $1: no such file or directory" >&2; exit 1; }; }
            file64() { base64 < "$1" | tr -d '\n'; }
            case "${words[2]:-}" in
              generic)
                doc="# secret $ns ${words[3]} Opaque"
                for l in ${literals[@]+"${literals[@]}"}; do doc+=$'\n'"${l%%=*} $(printf '%s' "${l#*=}" | base64 | tr -d '\n')"; done
                for f in ${files[@]+"${files[@]}"}; do
                  if [[ $f == *=* ]]; then k="${f%%=*}" path="${f#*=}"; else k="$(basename "$f")" path="$f"; fi
                  readable "$path"
                  doc+=$'\n'"$k $(file64 "$path")"
                done ;;
              tls)
                [[ -n $tls_cert && -n $tls_key ]] || { echo "error: --cert and --key must both be given" >&2; exit 1; }
                readable "$tls_cert"; readable "$tls_key"
                doc="# secret $ns ${words[3]} kubernetes.io/tls"$'\n'"tls.crt $(file64 "$tls_cert")"$'\n'"tls.key $(file64 "$tls_key")" ;;
              *) echo "fake kubectl: only generic and tls Secrets: ${words[*]}" >&2; exit 2 ;;
            esac
            if [[ $dry == yes ]]; then
              [[ $out == yaml ]] || { echo "fake kubectl: --dry-run=client without -o yaml" >&2; exit 2; }
              printf '%s\n' "$doc"
            else
              store "$doc" create
            fi ;;
          "replace -f"|"apply -f")
            if [[ ${words[2]} == - ]]; then store "$(cat)" "${words[0]}"; fi ;;
          "get secret")
            key=$(sed -n 's/^jsonpath={\.data\.\(.*\)}$/\1/p' <<< "$out")
            key="${key//\\./.}"
            [[ -n $key ]] || { echo "fake kubectl: get secret needs -o jsonpath={.data.KEY}: $out" >&2; exit 2; }
            file="$state/secrets/$ns/${words[2]}/$key"
            [[ -e $file ]] || { echo "fake kubectl: no key $key in secret ${words[2]} of $ns" >&2; exit 1; }
            base64 < "$file" | tr -d '\n' ;;
          "get pods")
            if [[ $out == name ]]; then echo pod/teacher-a; echo pod/teacher-b; else echo "NAME READY STATUS RESTARTS AGE"; fi ;;
          "label namespace"|"exec "*|"rollout "*|"wait "*|"logs "*) ;;
          *) echo "fake kubectl does not know: ${words[*]}" >&2; exit 2 ;;
        esac
        """;

    /// <summary>
    /// A stand-in for <c>openssl rand -hex N</c> (only that), so that the run needs no openssl:
    /// N random bytes as hex and a newline, as openssl prints them.
    /// </summary>
    private const string FakeOpenssl = """
        #!/bin/sh
        [ "$1 $2" = "rand -hex" ] || { echo "fake openssl: only 'rand -hex N': $*" >&2; exit 2; }
        od -An -tx1 -N"$3" /dev/urandom | tr -d ' \n'; echo
        """;

    /// <summary>
    /// A cluster of Secrets only, in a temporary folder, that documented bash blocks run against, with
    /// a home folder of its own (<see cref="Home"/>, the <c>~</c> of the commands).
    /// </summary>
    public sealed class Cluster : IDisposable
    {
        private readonly TemporaryDirectory directory = new("documented-secrets");

        /// <param name="realOpenssl">the machine's openssl instead of the stand-in that knows only <c>rand -hex</c>: for commands that make keys and certificates.</param>
        public Cluster(bool realOpenssl = false)
        {
            var bin = Directory.CreateDirectory(Path.Combine(directory.Path, "bin")).FullName;
            Directory.CreateDirectory(Path.Combine(State, "secrets"));
            Directory.CreateDirectory(Path.Combine(State, "history"));
            Directory.CreateDirectory(Home);
            File.WriteAllText(Path.Combine(State, "commands"), "");
            if (realOpenssl && OnPath("openssl") is null)
                throw new Xunit.Sdk.XunitException("these documented commands make a certificate authority and a certificate with openssl (1.1.1 or later), which is not on PATH here");
            var standIns = new[] { ("kubectl", FakeKubectl), ("openssl", FakeOpenssl) }.Where(s => !(realOpenssl && s.Item1 == "openssl"));
            foreach (var (name, script) in standIns)
            {
                var path = Path.Combine(bin, name);
                File.WriteAllText(path, script.ReplaceLineEndings("\n") + "\n");
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            Bin = bin;
        }

        private string Bin { get; }

        private string State => Path.Combine(directory.Path, "cluster");

        /// <summary>The commands' home folder ($HOME, <c>~</c>): where they keep what stays outside the repository.</summary>
        public string Home => Path.Combine(directory.Path, "home");

        /// <summary>Stores a Secret as something other than the documented commands would (cert-manager, say).</summary>
        public void Put(Secret secret)
        {
            var folder = Directory.CreateDirectory(Path.Combine(State, "secrets", secret.Namespace, secret.Name)).FullName;
            foreach (var (key, value) in secret.Data) File.WriteAllText(Path.Combine(folder, key), value);
            File.WriteAllText(Path.Combine(folder, "..type"), secret.Type);
        }

        private static string? OnPath(string program) =>
            (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);

        /// <summary>Runs <paramref name="block"/> with bash (stopping at the first failing command) from the repository root.</summary>
        public void Run(string block)
        {
            var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false, WorkingDirectory = Builds.RepositoryRoot };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add("set -eo pipefail\n" + block);
            info.Environment["PATH"] = $"{Bin}{Path.PathSeparator}{System.Environment.GetEnvironmentVariable("PATH")}";
            info.Environment["FAKE_CLUSTER"] = State;
            info.Environment["HOME"] = Home;
            using var process = Process.Start(info)!;
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(1)))
            {
                process.Kill(entireProcessTree: true);
                throw new Xunit.Sdk.XunitException("the documented commands did not finish within a minute");
            }
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"the documented commands failed (exit {process.ExitCode}): {error.Result}\n{block}");
        }

        /// <summary>Every Secret there now, by name.</summary>
        public List<Secret> Secrets() =>
            Directory.GetDirectories(Path.Combine(State, "secrets")).SelectMany(ns => Directory.GetDirectories(ns).Select(s =>
                new Secret(Path.GetFileName(ns), Path.GetFileName(s), Read(s), File.ReadAllText(Path.Combine(s, "..type"))))).OrderBy(s => s.Name, StringComparer.Ordinal).ToList();

        /// <summary>The Secret <paramref name="name"/> there now.</summary>
        public Secret SecretNamed(string name) =>
            Secrets().SingleOrDefault(s => s.Name == name) ?? throw new Xunit.Sdk.XunitException($"the documented commands left no Secret {name}");

        /// <summary>Every Secret as it was stored, each time one was created or replaced, oldest first.</summary>
        public List<Secret> Versions() =>
            Directory.GetDirectories(Path.Combine(State, "history")).Order(StringComparer.Ordinal)
                .Select(v => Directory.GetDirectories(Directory.GetDirectories(v).Single()).Single())
                .Select(d => new Secret(Path.GetFileName(Path.GetDirectoryName(d)!), Path.GetFileName(d), Read(d), File.ReadAllText(Path.Combine(d, "..type")))).ToList();

        /// <summary>Every kubectl command run, without its --from-literal values, in order.</summary>
        public List<string> Commands() => File.ReadAllLines(Path.Combine(State, "commands")).ToList();

        private static Dictionary<string, string> Read(string folder) =>
            Directory.GetFiles(folder).Where(f => !Path.GetFileName(f).StartsWith("..", StringComparison.Ordinal))
                .ToDictionary(f => Path.GetFileName(f), f => File.ReadAllText(f, Encoding.UTF8));

        public void Dispose() => directory.Dispose();
    }
}
