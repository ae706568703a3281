using TeacherStudent.Distillation.Models;

namespace TeacherStudent.Teacher.Tests.Fixtures;

/// <summary>Teacher checkpoints for tests that need several versions.</summary>
public static class CheckpointFolder
{
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
