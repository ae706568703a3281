using TeacherStudent.Distillation.Models;
using static TorchSharp.torch;

namespace TeacherStudent.StudentTrainer.Tests.TeacherClient;

/// <summary>One teacher service process of several: its address and the version it serves.</summary>
public sealed record TeacherReplica(RunningProcess Process, string Address, string Version);

/// <summary>
/// Teacher service processes serving "fashion", as replicas of one Deployment; each is given an MLP of its own
/// seed only so that every reply's version says which replica answered it.
/// </summary>
public static class TeacherReplicas
{
    /// <summary>
    /// Starts one replica per seed (checkpoints written in <paramref name="directory"/>), listening on a port of
    /// their own over <paramref name="scheme"/> (http or https) with <paramref name="settings"/> added, and waits for each.
    /// </summary>
    public static async Task<List<TeacherReplica>> StartAsync(TemporaryDirectory directory, string scheme, int[] seeds, params string[] settings)
    {
        var starting = new List<(RunningProcess, string)>();
        foreach (var seed in seeds)
        {
            var checkpoint = directory.File($"teacher-{seed}.ckpt");
            manual_seed(seed);
            var spec = ModelSpec.ForFashionMnist(Mlp.Name, 16);
            using (var model = spec.Create()) Checkpoint.Save(checkpoint, spec, model);
            starting.Add((RunningProcess.Start(Builds.Teacher,
                ["--urls", $"{scheme}://127.0.0.1:0", "--Teacher:Name=fashion", $"--Teacher:Checkpoint={checkpoint}", "--Teacher:Device=cpu", .. settings]), checkpoint));
        }
        var replicas = new List<TeacherReplica>();
        foreach (var (process, checkpoint) in starting)
        {
            var address = await process.WaitForAsync($@"Now listening on: ({scheme}://127\.0\.0\.1:\d+)", TimeSpan.FromMinutes(1));
            replicas.Add(new TeacherReplica(process, address, Checkpoint.Digest(checkpoint)));
        }
        return replicas;
    }
}
