using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Models;

namespace TeacherStudent.Teacher.Tests.Fixtures;

/// <summary>Putting checkpoints into a watched folder the way writers do, and waiting for the service to notice.</summary>
public static class CheckpointFolder
{
    /// <summary>Longest wait for the service to pick up a file.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>Copies <paramref name="source"/> to a temporary file beside <paramref name="target"/>, then renames it into place.</summary>
    public static void Publish(string source, string target) => PublishBytes(File.ReadAllBytes(source), target);

    /// <summary>Writes <paramref name="bytes"/> to a temporary file beside <paramref name="target"/>, then renames it into place.</summary>
    public static void PublishBytes(byte[] bytes, string target)
    {
        var temporary = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, target, overwrite: true);
    }

    /// <summary>Polls Describe until <paramref name="done"/> holds for teacher <paramref name="name"/>, and returns what it said then.</summary>
    public static async Task<TeacherInfo> DescribeUntilAsync(TeacherServer server, string name, Func<TeacherInfo, bool> done)
    {
        using var patience = new CancellationTokenSource(Patience);
        while (true)
        {
            var info = (await server.Client.DescribeAsync(new DescribeRequest { Teacher = name })).Teachers.Single();
            if (done(info)) return info;
            if (patience.IsCancellationRequested)
                Assert.Fail($"teacher '{name}' did not get there within {Patience.TotalSeconds} s; it is at version {info.Version}, last load error '{info.LastLoadError}'.");
            await Task.Delay(50);
        }
    }

    /// <summary>A few teacher checkpoints, each with its digest and an in-process reference of it.</summary>
    public sealed class Versions : IDisposable
    {
        private readonly Dictionary<string, ReferenceTeacher> references = [];

        /// <summary>Creates one checkpoint per seed under <paramref name="directory"/>.</summary>
        public Versions(string directory, params int[] seeds)
        {
            foreach (var seed in seeds)
            {
                var path = TeacherCheckpoints.Create(Path.Combine(directory, $"version-{seed}.ckpt"), seed);
                // The digest of the file written, whatever else the torch seed was used for meanwhile.
                var version = Checkpoint.Digest(path);
                Paths.Add(path);
                Digests.Add(version);
                references[version] = new ReferenceTeacher(path);
            }
        }

        /// <summary>The checkpoint files, in seed order.</summary>
        public List<string> Paths { get; } = [];

        /// <summary>Their versions, in seed order.</summary>
        public List<string> Digests { get; } = [];

        /// <summary>The in-process model of <paramref name="version"/>.</summary>
        public ReferenceTeacher Reference(string version) => references[version];

        public void Dispose()
        {
            foreach (var reference in references.Values) reference.Dispose();
        }
    }
}
