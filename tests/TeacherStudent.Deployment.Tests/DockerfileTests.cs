using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// The Dockerfiles, checked as far as can be without a Docker engine (none runs on the
/// development machines): multi-stage, non-root, what they copy exists and is not left out of the
/// build context, and the teacher's ports are the ones the service and Kubernetes use.
/// </summary>
public sealed partial class DockerfileTests
{
    public static TheoryData<string> Services() => ["Teacher", "StudentTrainer"];

    private static Dockerfile Read(string service) => new(Path.Combine(Builds.RepositoryRoot, "services", service, "Dockerfile"));

    [Theory]
    [MemberData(nameof(Services))]
    public void ItBuildsInTheSdkAndRunsInAnotherSmallerImage(string service)
    {
        var dockerfile = Read(service);

        Assert.True(dockerfile.Stages.Count >= 2, "multi-stage: build, then runtime");
        Assert.Contains("dotnet/sdk", dockerfile.Stages[0].Image);
        Assert.DoesNotContain("dotnet/sdk", dockerfile.Final.Image);
        Assert.Contains(Dockerfile.All(dockerfile.Stages[0], "RUN"), r => r.StartsWith("dotnet publish", StringComparison.Ordinal) && r.Contains("--self-contained"));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void TheImageRunsAsANonRootUser(string service)
    {
        var final = Read(service).Final;

        // The last USER wins, and nothing runs after it as another user.
        var user = Dockerfile.All(final, "USER").Last();
        var name = user.Split(':')[0];
        Assert.NotEqual("root", name);
        Assert.NotEqual("0", name);
        var lastUser = final.Instructions.FindLastIndex(i => i.Keyword == "USER");
        Assert.DoesNotContain(final.Instructions.Skip(lastUser + 1), i => i.Keyword == "RUN");
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void EveryPathItCopiesExistsInTheRepositoryAndIsInTheBuildContext(string service)
    {
        var dockerfile = Read(service);
        var ignored = DockerIgnore();
        var stageNames = new List<string>();
        foreach (var stage in dockerfile.Stages)
        {
            foreach (var copy in Dockerfile.All(stage, "COPY"))
            {
                var words = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var from = words.FirstOrDefault(w => w.StartsWith("--from=", StringComparison.Ordinal));
                var paths = words.Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToArray();
                if (from is not null)
                {
                    Assert.Contains(from["--from=".Length..], stageNames); // an earlier stage
                    continue;
                }
                foreach (var source in paths[..^1])
                {
                    var full = Path.Combine(Builds.RepositoryRoot, source);
                    Assert.True(File.Exists(full) || Directory.Exists(full), $"{service}/Dockerfile copies {source}, which is not in the repository");
                    Assert.False(ignored(source.TrimEnd('/')), $"{service}/Dockerfile copies {source}, which .dockerignore leaves out of the build context");
                }
            }
            if (stage.Name is not null) stageNames.Add(stage.Name);
        }
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void TheEntryPointIsTheProgramThePublishWrites(string service)
    {
        var dockerfile = Read(service);
        var project = Directory.GetFiles(Path.Combine(Builds.RepositoryRoot, "services", service), "*.csproj").Single();
        var assembly = XDocument.Load(project).Descendants("AssemblyName").Single().Value;

        var publish = Dockerfile.All(dockerfile.Stages[0], "RUN").Single(r => r.StartsWith("dotnet publish", StringComparison.Ordinal));
        var output = Regex.Match(publish, @"-o\s+(\S+)").Groups[1].Value;
        Assert.Contains(Dockerfile.All(dockerfile.Final, "COPY"), c => c.Contains("--from=build") && c.Contains($" {output}/"));
        Assert.Equal($"[\"{output}/{assembly}\"]", Dockerfile.All(dockerfile.Final, "ENTRYPOINT").Single());
    }

    [Fact]
    public void TheTeacherImageIsBuiltForCudaOnACudaBaseThatMatchesTorchSharpsLibtorch()
    {
        var dockerfile = Read("Teacher");

        // TorchSharp 0.107 runs on libtorch 2.10 for CUDA 12.8 (its libtorch-cuda-12.8 package).
        Assert.StartsWith("nvidia/cuda:12.8.", dockerfile.Final.Image);
        Assert.Equal("TORCH_DEVICE=cuda", Dockerfile.All(dockerfile.Stages[0], "ARG").Single(a => a.StartsWith("TORCH_DEVICE", StringComparison.Ordinal)));
        Assert.All(Dockerfile.All(dockerfile.Stages[0], "RUN").Where(r => r.StartsWith("dotnet ", StringComparison.Ordinal)),
            r => Assert.Contains("-p:TorchDevice=${TORCH_DEVICE}", r));
        Assert.Contains("<TorchSharpPackage Condition=\"'$(TorchDevice)' == 'cuda'\">TorchSharp-cuda-linux</TorchSharpPackage>",
            File.ReadAllText(Path.Combine(Builds.RepositoryRoot, "Directory.Build.props")));
    }

    [Fact]
    public void TheStudentTrainerImageIsACpuBuildWithTheDatasetsInstalled()
    {
        var dockerfile = Read("StudentTrainer");

        Assert.DoesNotContain("cuda", string.Join("\n", dockerfile.Stages.SelectMany(s => s.Instructions).Select(i => i.Arguments)), StringComparison.OrdinalIgnoreCase);
        Assert.Contains(Dockerfile.All(dockerfile.Final, "RUN"), r => r.Contains("dataset-fashion-mnist") && r.Contains("fortunes"));
        Assert.Equal("/usr/share/datasets/fashion-mnist", dockerfile.Environment()["Training__DataDirectory"]);
        Assert.Equal("NONE", Dockerfile.All(dockerfile.Final, "HEALTHCHECK").Single());
    }

    [Fact]
    public void TheTeacherExposesThePortItListensOnAndChecksItsHealthThere()
    {
        var dockerfile = Read("Teacher");
        var port = TeacherPort();

        var exposed = Dockerfile.All(dockerfile.Final, "EXPOSE").SelectMany(e => e.Split(' ')).Select(int.Parse).ToArray();
        Assert.Contains(port, exposed);
        Assert.Contains(int.Parse(Manifests.ConfigMap(Kustomize.Render("overlays/cpu"), "teacher-options")["Metrics__PrometheusPort"]), exposed);
        Assert.Contains($"/dev/tcp/127.0.0.1/{port}", Dockerfile.All(dockerfile.Final, "HEALTHCHECK").Single());
    }

    /// <summary>The port of the teacher image's ASPNETCORE_URLS, which is where Kestrel listens.</summary>
    public static int TeacherPort()
    {
        var urls = Read("Teacher").Environment()["ASPNETCORE_URLS"];
        return int.Parse(Regex.Match(urls, @"^http://\+:(\d+)$").Groups[1].Value);
    }

    /// <summary>The environment the teacher or trainer image sets.</summary>
    public static Dictionary<string, string> ImageEnvironment(string service) => Read(service).Environment();

    /// <summary>Whether .dockerignore at the repository root (the build context) leaves a path out.</summary>
    private static Func<string, bool> DockerIgnore()
    {
        var patterns = File.ReadAllLines(Path.Combine(Builds.RepositoryRoot, ".dockerignore"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(p => new Regex("^" + Regex.Escape(p).Replace(@"\*\*/", "(.*/)?").Replace(@"\*", "[^/]*") + "(/.*)?$"))
            .ToArray();
        return path => patterns.Any(p => p.IsMatch(path));
    }
}
