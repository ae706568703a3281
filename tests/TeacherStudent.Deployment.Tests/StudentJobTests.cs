using System.CommandLine;
using System.Diagnostics;
using k8s.Models;
using TeacherStudent.StudentTrainer.Hosting;
using TeacherStudent.StudentTrainer.Images;
using Xunit.Abstractions;
using static TeacherStudent.Deployment.Tests.Manifests;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// The trainer Jobs: the Indexed Job whose every index trains a differently configured student
/// (its script, run here with sh for every index), and the Job that trains the teacher and
/// publishes the checkpoint the teacher replicas wait for.
/// </summary>
public sealed class StudentJobTests
{
    private static readonly List<object> Objects = Kustomize.Render("overlays/cpu");

    public StudentJobTests(ITestOutputHelper output) => output.WriteLine(Kustomize.Renderer);

    /// <summary>The switches the trainer's <c>train</c> command takes, as the trainer builds them.</summary>
    private static (Command Train, OptionSwitches Switches) TrainCommand()
    {
        var train = new Command("train");
        return (train, ImageCommands.TrainSwitches(train));
    }

    /// <summary>Parses trainer arguments as the trainer would, and validates the options they and the environment give.</summary>
    private static void AssertAValidTrainCommand(string[] arguments, IReadOnlyDictionary<string, string> environment, string what)
    {
        Assert.True(arguments.Length > 0 && arguments[0] == "train", $"{what}: not a train command: {string.Join(' ', arguments)}");
        var (train, switches) = TrainCommand();
        var parsed = train.Parse(arguments[1..]);
        Assert.True(parsed.Errors.Count == 0, $"{what}: {string.Join("; ", parsed.Errors.Select(e => e.Message))}");
        var settings = environment.ToDictionary(e => e.Key, e => e.Value);
        foreach (var (key, value) in switches.Given(parsed)) settings[key.Replace(":", "__")] = value!;
        Assert.Empty(OptionNames.StudentTrainer.ValidationFailures(settings));
    }

    private static (int ExitCode, string[] Arguments, string Error) RunScript(string script, int index, string directory)
    {
        var path = Path.Combine(directory, "pick-student.sh");
        File.WriteAllText(path, script);
        var fake = Path.Combine(directory, "trainer");
        File.WriteAllText(fake, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
        var info = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(path);
        info.Environment["JOB_COMPLETION_INDEX"] = $"{index}";
        info.Environment["TRAINER"] = fake;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Split('\n', StringSplitOptions.RemoveEmptyEntries), error);
    }

    [Fact]
    public void TheStudentsJobIsIndexedAndEveryIndexTrainsADifferentlyConfiguredValidStudent()
    {
        var job = Single<V1Job>(Objects, "students");
        var container = job.Spec.Template.Spec.Containers.Single();
        var script = ConfigMap(Objects, "students-script")["pick-student.sh"];
        Assert.Equal("Indexed", job.Spec.CompletionMode);
        Assert.Equal(["/bin/sh", "/scripts/pick-student.sh"], container.Command);
        Assert.Equal("/scripts", container.VolumeMounts.Single(m => m.Name == "scripts").MountPath);
        var environment = Environment(Objects, container);
        using var directory = new TemporaryDirectory("students-script");

        var students = new List<string>();
        for (int index = 0; index < job.Spec.Completions; index++)
        {
            var (exit, arguments, error) = RunScript(script, index, directory.Path);
            Assert.True(exit == 0, $"index {index}: exit {exit}: {error}");
            AssertAValidTrainCommand(arguments, environment, $"index {index}");
            Assert.Contains($"/runs/student-{index}", arguments); // its own run directory
            students.Add(string.Join(' ', arguments.Where(a => !a.Contains($"{index}", StringComparison.Ordinal))));
        }

        Assert.Equal(students.Count, students.Distinct().Count()); // each index a different student
        var beyond = RunScript(script, job.Spec.Completions!.Value, directory.Path);
        Assert.Equal(2, beyond.ExitCode);
        Assert.StartsWith("error: no student is configured for index", beyond.Error);
    }

    [Fact]
    public void TheTeacherTrainingJobPublishesTheCheckpointTheTeachersWaitForAndLoad()
    {
        var job = Single<V1Job>(Objects, "teacher-training");
        var trainer = job.Spec.Template.Spec.Containers.Single();
        var arguments = trainer.Args.ToArray();
        AssertAValidTrainCommand(arguments, Environment(Objects, trainer), "teacher-training");
        string After(string name) => arguments[Array.IndexOf(arguments, name) + 1];

        var published = $"{After("--publish-directory")}/{After("--publish-name")}.ckpt";
        var options = ConfigMap(Objects, "teacher-options");
        Assert.Equal(options["Teacher__Checkpoint"], published);
        Assert.Equal(options["Registry__WatchDirectory"], After("--publish-directory"));
        Assert.Equal(options["Teacher__Name"], After("--publish-name"));

        // The same volume, written by the Job, read by the teachers and their init container.
        var teacher = Single<V1Deployment>(Objects, "teacher").Spec.Template.Spec;
        string Claim(V1PodSpec pod, V1Container c, string path) =>
            pod.Volumes.Single(v => v.Name == c.VolumeMounts.Single(m => m.MountPath == path).Name).PersistentVolumeClaim.ClaimName;
        Assert.Equal(Claim(job.Spec.Template.Spec, trainer, After("--publish-directory")),
            Claim(teacher, teacher.Containers.Single(), Path.GetDirectoryName(published)!));
        var wait = teacher.InitContainers.Single();
        Assert.Contains($"[ -s {published} ]", wait.Command[^1]);
        Assert.Equal(Claim(teacher, teacher.Containers.Single(), "/checkpoints"), Claim(teacher, wait, "/checkpoints"));
    }
}
