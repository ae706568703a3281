using System.Diagnostics;
using System.Text.RegularExpressions;
using k8s.Models;
using Xunit.Abstractions;
using static TeacherStudent.Deployment.Tests.Manifests;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// Redis's password: from the Secret redis-auth, given to Redis in a file that only its user reads
/// and on no command line (the StatefulSet's start script, run here with sh), sent by its probe, and
/// the same Secret the teacher reads it from.
/// </summary>
public sealed partial class RedisPasswordTests
{
    public RedisPasswordTests(ITestOutputHelper output) => output.WriteLine(Kustomize.Renderer);

    [Theory]
    [MemberData(nameof(Overlays), MemberType = typeof(Manifests))]
    public void RedisRequiresThePasswordOfTheSecretTheTeacherReadsAndItsProbeSendsIt(string overlay)
    {
        var objects = Kustomize.Render(overlay);
        var redis = Single<V1StatefulSet>(objects, "redis").Spec.Template.Spec;
        var container = redis.Containers.Single();
        var conf = ConfigMap(objects, "redis-config")["redis.conf"].Split('\n').Select(l => l.Trim()).ToList();
        var teacherPod = Single<V1Deployment>(objects, "teacher").Spec.Template.Spec;
        var teacher = teacherPod.Containers.Single(c => c.Name == "teacher");

        Assert.Contains("protected-mode yes", conf); // without the password, Redis would refuse every client from outside its pod
        Assert.DoesNotContain(conf, l => l.StartsWith("protected-mode no", StringComparison.Ordinal));
        Assert.DoesNotContain(conf, l => l.StartsWith("requirepass", StringComparison.Ordinal)); // no password in the repository

        // The one password: a variable from redis-auth for Redis, a file of redis-auth for the teacher.
        var auth = container.Env.Single(e => e.Name == "REDISCLI_AUTH").ValueFrom.SecretKeyRef;
        Assert.Equal(("redis-auth", "password"), (auth.Name, auth.Key));
        var volume = teacherPod.Volumes.Single(v => v.Secret?.SecretName == auth.Name);
        Assert.Equal($"{teacher.VolumeMounts.Single(m => m.Name == volume.Name).MountPath}/{auth.Key}", Environment(objects, teacher)["Cache__RedisPasswordFile"]);

        // On no command line: not Redis's (anyone on the node can list those), not the probe's.
        var probe = container.ReadinessProbe.Exec.Command;
        foreach (var word in (container.Command ?? []).Concat(container.Args ?? []).Concat(probe))
        {
            Assert.DoesNotContain("--requirepass", word);
            Assert.DoesNotContain("protected-mode no", word);
            Assert.DoesNotMatch(@"(^|\s)(-a|--pass|--user|--askpass)(\s|$)", word);
        }
        // redis-cli exits 0 on an error reply (NOAUTH) unless -e: without it the probe passes with any password.
        Assert.Equal(["redis-cli", "-e", "ping"], probe);

        // The file Redis starts on: in memory, not on the data volume.
        var path = ExecLine().Match(container.Command![^1]).Groups[1].Value;
        var mount = container.VolumeMounts.Single(m => path.StartsWith(m.MountPath + "/", StringComparison.Ordinal));
        Assert.Equal("Memory", redis.Volumes.Single(v => v.Name == mount.Name).EmptyDir?.Medium);
    }

    [Fact]
    public void TheStartScriptWritesThePasswordIntoAFileOnlyRedisReadsAndStartsRedisOnIt()
    {
        // Arrange: the script, with the pod's folders moved into a temporary folder, a stand-in
        // redis-server that prints its arguments, and a printf that would record any it were run with.
        var objects = Kustomize.Render("overlays/cpu");
        var container = Single<V1StatefulSet>(objects, "redis").Spec.Template.Spec.Containers.Single();
        var conf = ConfigMap(objects, "redis-config")["redis.conf"];
        Assert.Equal(["/bin/sh", "-c"], container.Command.Take(2));
        using var directory = new TemporaryDirectory("redis-start");
        var script = container.Command[2];
        foreach (var mount in container.VolumeMounts)
            script = script.Replace(mount.MountPath + "/", Directory.CreateDirectory(directory.File(mount.Name)).FullName + "/", StringComparison.Ordinal);
        var configMount = container.VolumeMounts.Single(m => m.Name == "config");
        File.WriteAllText(Path.Combine(directory.File(configMount.Name), "redis.conf"), conf);
        var bin = Directory.CreateDirectory(directory.File("bin")).FullName;
        var trap = directory.File("printf-ran");
        WriteScript(Path.Combine(bin, "redis-server"), "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n");
        WriteScript(Path.Combine(bin, "printf"), $"#!/bin/sh\necho \"$*\" >> '{trap}'\n");
        var password = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

        // Act
        var (exit, output, error) = Run(script, bin, password);

        // Assert: redis-server started on the written file, whose only reader is Redis's user, and the
        // password in no process's arguments (the shell's printf is a builtin: the trap never ran).
        Assert.True(exit == 0, $"exit {exit}: {error}");
        var written = ExecLine().Match(script).Groups[1].Value;
        Assert.Equal([written], output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(conf + $"requirepass {password}\n", File.ReadAllText(written));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(written));
        Assert.False(File.Exists(trap), "printf ran as a program, with the password in its arguments");
        Assert.DoesNotContain(password, output + error);

        // Without a password it stops before Redis, with one line that names the Secret.
        File.Delete(written);
        var (missingExit, missingOutput, missingError) = Run(script, bin, "");
        Assert.NotEqual(0, missingExit);
        Assert.Empty(missingOutput);
        Assert.Contains("redis-auth", missingError);
        Assert.False(File.Exists(written));
    }

    [GeneratedRegex(@"exec redis-server (\S+)")]
    private static partial Regex ExecLine();

    private static void WriteScript(string path, string text)
    {
        File.WriteAllText(path, text);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static (int Exit, string Output, string Error) Run(string script, string bin, string password)
    {
        var info = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script);
        info.Environment["PATH"] = $"{bin}{Path.PathSeparator}{System.Environment.GetEnvironmentVariable("PATH")}";
        info.Environment["REDISCLI_AUTH"] = password;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }
}
