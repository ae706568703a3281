using k8s.Models;
using Xunit.Abstractions;
using static TeacherStudent.Deployment.Tests.DocumentedSecrets;
using static TeacherStudent.Deployment.Tests.Manifests;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// The Secrets: named by the manifests, made by the user with the documented commands (run here
/// against a stand-in kubectl, <see cref="DocumentedSecrets"/>), mounted by the teacher as files it
/// reads again when they change, and rotated as the documentation says.
/// </summary>
public sealed class SecretManifestTests
{
    private const string Hex32 = "^[0-9a-f]{64}$"; // openssl rand -hex 32: nothing else, no newline

    public SecretManifestTests(ITestOutputHelper output) => output.WriteLine(Kustomize.Renderer);

    [Theory]
    [MemberData(nameof(Overlays), MemberType = typeof(Manifests))]
    public void EverySecretComesFromTheUsersCommandsAndHoldsEveryKeyTheManifestsReadAndNoOther(string overlay)
    {
        var objects = Kustomize.Render(overlay);
        var ns = Single<V1Deployment>(objects, "teacher").Metadata.NamespaceProperty;

        // Every key read: as a variable (secretKeyRef), or as a file of a mounted Secret that a variable names.
        var read = SecretKeysRead(objects);
        // A whole Secret as variables would hand every key to every process of the container.
        Assert.DoesNotContain(Containers(objects), c => (c.Container.EnvFrom ?? []).Any(e => e.SecretRef is not null));
        var created = AsK8sReadmeCreatesThem;

        Assert.Empty(objects.OfType<V1Secret>()); // named by the manifests, created by the user: no key in the repository
        Assert.Equal(["redis-auth", "student-key", "teacher-keys"], created.Select(s => s.Name));
        Assert.All(created, s => Assert.Equal(ns, s.Namespace));
        Assert.Equal(created.SelectMany(s => s.Data.Keys.Select(k => (s.Name, k))).Order(), read.Order());
    }

    [Theory]
    [MemberData(nameof(Overlays), MemberType = typeof(Manifests))]
    public void TheTeacherMountsItsSecretsAsFoldersAndEachFileItIsPointedAtIsAKeyOfTheSecretThere(string overlay)
    {
        var objects = Kustomize.Render(overlay);
        var pod = Single<V1Deployment>(objects, "teacher").Spec.Template.Spec;
        var teacher = pod.Containers.Single(c => c.Name == "teacher");
        var environment = Environment(objects, teacher);
        var files = new Dictionary<string, (string Secret, string Key)>
        {
            ["Auth__ApiKeysFile"] = ("teacher-keys", "api-keys"),
            ["Auth__AdminKeyFile"] = ("teacher-keys", "admin-key"),
            ["Cache__KeySecretFile"] = ("teacher-keys", "cache-mac-key"),
            ["Cache__RedisPasswordFile"] = ("redis-auth", "password"),
        };

        foreach (var (variable, (secret, key)) in files)
        {
            var volume = pod.Volumes.Single(v => v.Secret?.SecretName == secret);
            var mount = teacher.VolumeMounts.Single(m => m.Name == volume.Name);
            Assert.True(mount.ReadOnlyProperty == true, $"{secret} is mounted writable");
            Assert.Null(mount.SubPath); // the kubelet never updates a subPath file: a rotated key would not arrive
            Assert.Null(volume.Secret.Items); // every key a file of the folder
            Assert.Equal($"{mount.MountPath}/{key}", environment[variable]);
            Assert.Contains(key, CreatedSecret(secret).Data.Keys);
            // Readable by the pod's group (fsGroup), which the teacher runs as, and by no one else.
            var mode = volume.Secret.DefaultMode ?? 0x1A4; // 0644, the API's default
            Assert.True((mode & 0x7) == 0 && (mode & 0x20) != 0, $"{secret}: mode {Convert.ToString(mode, 8)}");
            Assert.Equal(pod.SecurityContext.FsGroup, pod.SecurityContext.RunAsGroup);
        }

        // No secret in the ConfigMap, nor a password in Redis's address.
        var options = ConfigMap(objects, "teacher-options");
        Assert.DoesNotContain(options.Keys, k => k.StartsWith("Auth__ApiKeys__", StringComparison.Ordinal) || k is "Auth__AdminKey" or "Cache__RedisPassword" or "Cache__KeySecret");
        Assert.DoesNotContain("password", options["Cache__Redis"], StringComparison.OrdinalIgnoreCase);
        // The admin rpc loads checkpoints from the checkpoints volume alone.
        Assert.Equal(options["Registry__WatchDirectory"], options["Registry__AllowedDirectories__0"]);
    }

    [Fact]
    public void TheStudentsKeyIsTheFirstLineOfTheTeachersApiKeysAndEveryOtherKeyIsFreshAndItsOwn()
    {
        var teacherKeys = CreatedSecret("teacher-keys").Data;
        var callerKeys = teacherKeys["api-keys"].Split('\n');

        Assert.Equal(callerKeys[0], CreatedSecret("student-key").Data["api-key"]);
        var keys = callerKeys.Append(teacherKeys["admin-key"]).Append(teacherKeys["cache-mac-key"]).Append(CreatedSecret("redis-auth").Data["password"]).ToList();
        Assert.All(keys, k => Assert.Matches(Hex32, k));
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public void RotatingACallerKeyAddsTheNewKeyThenMovesTheStudentsThenDropsTheOldKey()
    {
        using var cluster = new Cluster();
        cluster.Run(Block("k8s/README.md", CreationSection, "create secret generic"));
        var created = cluster.Versions().Count;
        var before = cluster.SecretNamed("teacher-keys").Data;
        var oldKey = cluster.SecretNamed("student-key").Data["api-key"];

        cluster.Run(Block("k8s/README.md", RotationSection, "student-key"));

        var newKey = cluster.SecretNamed("student-key").Data["api-key"];
        Assert.Matches(Hex32, newKey);
        Assert.NotEqual(oldKey, newKey);
        // In this order: both keys accepted, the students moved, the old key gone.
        var steps = cluster.Versions().Skip(created).ToList();
        Assert.Equal(["teacher-keys", "student-key", "teacher-keys"], steps.Select(s => s.Name));
        Assert.Equal($"{oldKey}\n{newKey}", steps[0].Data["api-keys"]);
        Assert.Equal(newKey, steps[1].Data["api-key"]);
        Assert.Equal(newKey, steps[2].Data["api-keys"]);
        foreach (var step in steps.Where(s => s.Name == "teacher-keys"))
        {
            Assert.Equal(before.Keys.Order(), step.Data.Keys.Order());
            Assert.Equal(before["admin-key"], step.Data["admin-key"]);
            Assert.Equal(before["cache-mac-key"], step.Data["cache-mac-key"]);
        }
        // Nothing restarted, and no copy of the keys in kubectl apply's annotation.
        Assert.DoesNotContain(cluster.Commands(), c => c.StartsWith("rollout", StringComparison.Ordinal) || c == "apply -f -");
    }

    [Fact]
    public void RotatingRedisPasswordReplacesItThenRestartsRedisThenTheTeachers()
    {
        using var cluster = new Cluster();
        cluster.Run(Block("k8s/README.md", CreationSection, "create secret generic"));
        var old = cluster.SecretNamed("redis-auth").Data["password"];
        var first = cluster.Commands().Count;

        cluster.Run(Block("k8s/README.md", RotationSection, "redis-auth"));

        var password = cluster.SecretNamed("redis-auth").Data["password"];
        Assert.Matches(Hex32, password);
        Assert.NotEqual(old, password);
        var commands = cluster.Commands().Skip(first).ToList();
        int At(string command) => commands.IndexOf(command) is >= 0 and var i ? i : throw new Xunit.Sdk.XunitException($"no '{command}' in {string.Join("; ", commands)}");
        // Both read the password when they start: Redis first, so that restarted teachers meet the new one.
        Assert.True(At("replace -f -") < At("rollout restart statefulset/redis"));
        Assert.True(At("rollout restart statefulset/redis") < At("rollout restart deployment/teacher"));
    }

    [Fact]
    public void TheReadmeCreatesTheSecretsAsK8sReadmeDoes()
    {
        using var cluster = new Cluster();

        cluster.Run(Block("README.md", "## Run it on a cluster", "create secret generic"));

        var readme = cluster.Secrets();
        Assert.Equal(AsK8sReadmeCreatesThem.Select(s => (s.Namespace, s.Name, string.Join(",", s.Data.Keys.Order()))),
            readme.Select(s => (s.Namespace, s.Name, string.Join(",", s.Data.Keys.Order()))));
        Assert.Equal(readme.Single(s => s.Name == "teacher-keys").Data["api-keys"].Split('\n')[0], readme.Single(s => s.Name == "student-key").Data["api-key"]);
    }
}
