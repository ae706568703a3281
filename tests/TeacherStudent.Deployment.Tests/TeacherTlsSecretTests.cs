using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using k8s.Models;
using TeacherStudent.StudentTrainer.TeacherClient;
using Xunit.Abstractions;
using static TeacherStudent.Deployment.Tests.DocumentedSecrets;
using static TeacherStudent.Deployment.Tests.Manifests;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// The Secrets of components/teacher-tls as k8s/README.md ("TLS between students and teachers") makes
/// them: its openssl commands, run with the real openssl against the stand-in kubectl
/// (<see cref="DocumentedSecrets"/>), create exactly the Secrets and keys the component reads; the
/// certificate they make is one the teacher can load and the students accept; the authority's key
/// stays outside the cluster; renewal and the cert-manager route do what the page says.
/// </summary>
public sealed class TeacherTlsSecretTests
{
    private const string Name = "teacher.teacherstudent.svc"; // the name on the certificate, as the page and the component give it

    public TeacherTlsSecretTests(ITestOutputHelper output) => output.WriteLine(Kustomize.Renderer);

    private static List<object> Rendered(string overlay) => Kustomize.Render($"{overlay}+{TlsComponent}");

    private static Secret Tls(string name) => AsTlsSectionCreatesThem.Single(s => s.Name == name);

    [Theory]
    [MemberData(nameof(Overlays), MemberType = typeof(Manifests))]
    public void TheTlsCommandsCreateEverySecretAndKeyTheComponentReadsAndNoOther(string overlay)
    {
        var objects = Rendered(overlay);
        var ns = Single<V1Deployment>(objects, "teacher").Metadata.NamespaceProperty;

        var read = SecretKeysRead(objects);
        var created = AsK8sReadmeCreatesThem.Concat(AsTlsSectionCreatesThem).ToList();

        Assert.Empty(objects.OfType<V1Secret>()); // named by the component, created by the user
        Assert.Equal(["teacher-tls", "teacher-tls-ca"], AsTlsSectionCreatesThem.Select(s => s.Name));
        Assert.Equal(("kubernetes.io/tls", "Opaque"), (Tls("teacher-tls").Type, Tls("teacher-tls-ca").Type));
        Assert.All(AsTlsSectionCreatesThem, s => Assert.Equal(ns, s.Namespace));
        Assert.Equal(created.SelectMany(s => s.Data.Keys.Select(k => (s.Name, k))).Order(), read.Order());
        // The component reads these two Secrets beyond the overlay's own, and nothing else new.
        Assert.Equal(AsTlsSectionCreatesThem.SelectMany(s => s.Data.Keys.Select(k => (s.Name, k))).Order(),
            read.Except(SecretKeysRead(Kustomize.Render(overlay))).Order());
    }

    [Fact]
    public void TheDocumentedCertificateIsOneTheTeacherLoadsAndTheStudentsAcceptFromEveryReplica()
    {
        // Arrange: each pod's Secret folders as the kubelet would mount them, under a folder of this test's own.
        var objects = Rendered("overlays/cpu");
        using var root = new TemporaryDirectory("teacher-tls-mounts");
        var secrets = AsK8sReadmeCreatesThem.Concat(AsTlsSectionCreatesThem).ToList();
        string Local(string path) => Path.Combine(root.Path, path.TrimStart('/'));
        foreach (var (_, _, template, _) in Workloads(objects))
            foreach (var mount in template.Spec.Containers.SelectMany(c => c.VolumeMounts ?? []))
                if ((template.Spec.Volumes ?? []).SingleOrDefault(v => v.Name == mount.Name)?.Secret is { } volume)
                    foreach (var (key, value) in secrets.Single(s => s.Name == volume.SecretName).Data)
                    {
                        Directory.CreateDirectory(Local(mount.MountPath));
                        File.WriteAllText(Path.Combine(Local(mount.MountPath), key), value);
                    }
        var teacher = Single<V1Deployment>(objects, "teacher").Spec.Template.Spec.Containers.Single(c => c.Name == "teacher");
        var teacherEnvironment = Environment(objects, teacher);
        var student = Single<V1Job>(objects, "students").Spec.Template.Spec.Containers.Single(c => c.Name == "student");
        var studentEnvironment = DockerfileTests.ImageEnvironment("StudentTrainer").Concat(Environment(objects, student))
            .GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Last().Value);
        studentEnvironment["Teacher__TlsCaFile"] = Local(studentEnvironment["Teacher__TlsCaFile"]);

        // Act: the teacher loads its pair as Kestrel does (PEM certificate and key); a student checks it
        // as a pod-address connection reports it (chain unknown to the machine, name not the address).
        using var served = X509Certificate2.CreateFromPemFile(
            Local(teacherEnvironment["Kestrel__Endpoints__Grpc__Certificate__Path"]), Local(teacherEnvironment["Kestrel__Endpoints__Grpc__Certificate__KeyPath"]));
        var tls = new TeacherTls(studentEnvironment["Teacher__TlsHost"], studentEnvironment["Teacher__TlsCaFile"]);
        const SslPolicyErrors reported = SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNameMismatch;
        var accepted = tls.Validator()(this, served, null, reported);

        // Assert
        Assert.True(served.HasPrivateKey);
        Assert.True(served.NotBefore <= DateTime.Now && DateTime.Now < served.NotAfter, $"valid {served.NotBefore} to {served.NotAfter}");
        Assert.True(accepted, "a student refuses the documented certificate");
        Assert.Empty(OptionNames.StudentTrainer.ValidationFailures(studentEnvironment)); // the CA file, once mounted, is there
        // The check is not vacuous: another name, or another authority, is refused.
        Assert.False(new TeacherTls("teacher.elsewhere.svc", tls.CaFile).Validator()(this, served, null, reported));
        using var otherKey = RSA.Create(2048);
        var otherRequest = new CertificateRequest("CN=another authority", otherKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        otherRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var other = otherRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var otherCa = Path.Combine(root.Path, "other-ca.crt");
        File.WriteAllText(otherCa, other.ExportCertificatePem());
        Assert.False(new TeacherTls(tls.Host, otherCa).Validator()(this, served, null, reported));
    }

    [Fact]
    public void TheAuthoritysKeyStaysInItsFolderOutsideTheRepositoryAndTheTeachersKeyInTheSecretOnly()
    {
        using var cluster = new Cluster(realOpenssl: true);

        cluster.Run(Block("k8s/README.md", TlsSection, TlsCreation));

        var folder = Path.Combine(cluster.Home, "teacherstudent-ca");
        Assert.Equal(["ca.crt", "ca.key", "ca.srl", "tls.crt"], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        var secrets = cluster.Secrets();
        Assert.DoesNotContain(secrets.SelectMany(s => s.Data.Values), v => v.Contains(File.ReadAllText(Path.Combine(folder, "ca.key")).Trim(), StringComparison.Ordinal));
        // The only private key in the cluster is the teachers', in teacher-tls; the students' Secret holds the authority's certificate alone.
        Assert.Equal([("teacher-tls", "tls.key")], secrets.SelectMany(s => s.Data.Where(d => d.Value.Contains("PRIVATE KEY", StringComparison.Ordinal)).Select(d => (s.Name, d.Key))));
        Assert.Equal(File.ReadAllText(Path.Combine(folder, "ca.crt")), cluster.SecretNamed("teacher-tls-ca").Data["ca.crt"]);
    }

    [Fact]
    public void RenewingTheTeachersCertificateReplacesItUnderTheSameAuthorityThenRestartsTheTeachers()
    {
        using var cluster = new Cluster(realOpenssl: true);
        cluster.Run(Block("k8s/README.md", TlsSection, TlsCreation));
        var before = cluster.SecretNamed("teacher-tls");
        var authority = cluster.SecretNamed("teacher-tls-ca");
        var (versions, commands) = (cluster.Versions().Count, cluster.Commands().Count);

        cluster.Run(Block("k8s/README.md", TlsSection, "rollout restart deployment/teacher"));

        var after = cluster.SecretNamed("teacher-tls");
        Assert.Equal(["teacher-tls"], cluster.Versions().Skip(versions).Select(v => v.Name)); // the students' authority is left as it was
        Assert.Equal(authority.Data["ca.crt"], cluster.SecretNamed("teacher-tls-ca").Data["ca.crt"]);
        Assert.Equal("kubernetes.io/tls", after.Type);
        Assert.Equal(["tls.crt", "tls.key"], after.Data.Keys.Order(StringComparer.Ordinal));
        Assert.NotEqual(before.Data["tls.crt"], after.Data["tls.crt"]);
        Assert.NotEqual(before.Data["tls.key"], after.Data["tls.key"]);
        using var directory = new TemporaryDirectory("teacher-tls-renewed");
        File.WriteAllText(directory.File("ca.crt"), authority.Data["ca.crt"]);
        using var renewed = X509Certificate2.CreateFromPem(after.Data["tls.crt"], after.Data["tls.key"]);
        Assert.True(new TeacherTls(Name, directory.File("ca.crt")).Validator()(this, renewed, null, SslPolicyErrors.RemoteCertificateChainErrors));
        // The Secret first, then the restart that makes the teachers read it.
        var run = cluster.Commands().Skip(commands).ToList();
        Assert.True(run.IndexOf("replace -f -") is >= 0 and var replaced && replaced < run.IndexOf("rollout restart deployment/teacher"), string.Join("; ", run));
    }

    [Fact]
    public void TheCertManagerRouteCopiesTheAuthorityAloneIntoTheSecretTheStudentsRead()
    {
        // Arrange: teacher-tls as cert-manager writes it for a CA issuer, and the page's Certificate.
        const string authority = "-----BEGIN CERTIFICATE-----\nMIIBauthority\n-----END CERTIFICATE-----\n";
        using var cluster = new Cluster();
        cluster.Put(new Secret("teacherstudent", "teacher-tls", new Dictionary<string, string>
        {
            ["tls.crt"] = "-----BEGIN CERTIFICATE-----\nMIIBteacher\n-----END CERTIFICATE-----\n",
            ["tls.key"] = "-----BEGIN PRIVATE KEY-----\nMIIEkey\n-----END PRIVATE KEY-----\n",
            ["ca.crt"] = authority,
        }, "kubernetes.io/tls"));
        var certificate = (Dictionary<object, object>)new YamlDotNet.Serialization.DeserializerBuilder().Build()
            .Deserialize<object>(Block("k8s/README.md", TlsSection, "cert-manager.io/v1", "yaml"))!;
        var objects = Rendered("overlays/cpu");

        // Act
        cluster.Run(Block("k8s/README.md", TlsSection, @"ca\.crt"));

        // Assert: the students' Secret holds ca.crt alone (the shell drops the PEM's last newline, which PEM readers never need).
        var copied = cluster.SecretNamed("teacher-tls-ca");
        Assert.Equal(("Opaque", "teacherstudent"), (copied.Type, copied.Namespace));
        Assert.Equal(["ca.crt"], copied.Data.Keys);
        Assert.Equal(authority.TrimEnd('\n'), copied.Data["ca.crt"]);
        // The Certificate issues into the Secret the teacher mounts, for the name the students check, in their namespace.
        var spec = (Dictionary<object, object>)certificate["spec"];
        var teacherPod = Single<V1Deployment>(objects, "teacher").Spec.Template.Spec;
        var students = Environment(objects, Single<V1Job>(objects, "students").Spec.Template.Spec.Containers.Single());
        Assert.Equal(("cert-manager.io/v1", "Certificate"), ((string)certificate["apiVersion"], (string)certificate["kind"]));
        Assert.Contains(teacherPod.Volumes, v => v.Secret?.SecretName == (string)spec["secretName"]);
        Assert.Equal("teacher-tls", spec["secretName"]);
        Assert.Equal([students["Teacher__TlsHost"]], ((List<object>)spec["dnsNames"]).Cast<string>());
        Assert.Equal(Single<V1Deployment>(objects, "teacher").Metadata.NamespaceProperty, ((Dictionary<object, object>)certificate["metadata"])["namespace"]);
    }
}
