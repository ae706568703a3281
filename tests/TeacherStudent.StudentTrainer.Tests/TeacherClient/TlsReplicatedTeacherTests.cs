using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using TeacherStudent.Contracts.V1;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.Tests.TeacherClient;

/// <summary>
/// Two teacher service processes serving one self-signed certificate (made here with .NET's certificate APIs) for
/// the name teacher.test, reached at their loopback addresses: a student balances over both and encrypts, its
/// certificate check given the name once (Teacher:TlsHost) and the certificate to trust (Teacher:TlsCaFile).
/// </summary>
public sealed class TlsReplicatedTeacherTests : IAsyncLifetime
{
    private const string CertificateName = "teacher.test";
    private const string Key = "tls-replicas-test-key";
    private readonly TemporaryDirectory directory = new("tls-replicated-teacher-tests");
    private List<TeacherReplica> replicas = [];

    private string CertificateFile => directory.File("tls.crt");

    public async Task InitializeAsync()
    {
        using (var key = RSA.Create(2048))
        {
            var request = new CertificateRequest($"CN={CertificateName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName(CertificateName);
            names.AddDnsName("localhost");
            request.CertificateExtensions.Add(names.Build());
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(2));
            await File.WriteAllTextAsync(CertificateFile, certificate.ExportCertificatePem());
            await File.WriteAllTextAsync(directory.File("tls.key"), key.ExportPkcs8PrivateKeyPem());
        }
        replicas = await TeacherReplicas.StartAsync(directory, "https", [1, 2],
            $"--Kestrel:Certificates:Default:Path={CertificateFile}", $"--Kestrel:Certificates:Default:KeyPath={directory.File("tls.key")}",
            $"--Auth:ApiKeys:0={Key}");
    }

    private string Addresses => string.Join(",", replicas.Select(r => r.Address));

    private TeacherClientOptions Options(string address, string host, string caFile) =>
        new() { Address = address, Teacher = "fashion", ApiKey = Key, TimeoutSeconds = 30, TlsHost = host, TlsCaFile = caFile };

    private static SoftTargetsRequest Images(int count) => new()
    {
        Teacher = "fashion",
        Temperature = 2,
        Inputs = new Contracts.V1.Tensor { Shape = { count, 1, 28, 28 }, Dtype = DType.Uint8, Data = ByteString.CopyFrom(new byte[count * 784]) },
    };

    [Fact]
    public async Task AStudentSpreadsItsStreamsOverBothReplicasOverTlsCheckingTheOneNameGiven()
    {
        // Arrange
        var options = Options(Addresses, CertificateName, CertificateFile);
        using var channel = TeacherChannel.Create(options, new GrpcChannelOptions());
        var client = new Teacher.TeacherClient(channel);

        // Act: streams opened one after another, each asking one batch.
        var streamed = new List<string>();
        for (int i = 0; i < 6 && streamed.Distinct().Count() < 2; i++)
        {
            await using var connection = new SoftTargetsConnection(client, options);
            var reply = await connection.AskAsync(Images(2), CancellationToken.None);
            Assert.Equal([2L, 10L], reply.LogProbs.Shape);
            streamed.Add(reply.TeacherVersion);
        }

        // Assert
        Assert.StartsWith("https://", replicas[0].Address);
        Assert.Equal(replicas.Select(r => r.Version).Order(), streamed.Distinct().Order());
    }

    [Fact]
    public async Task ADnsNameWithATlsHostIsEncryptedToo()
    {
        // Arrange: localhost resolves to the first replica's loopback address.
        var port = new Uri(replicas[0].Address).Port;
        var options = Options($"dns:///localhost:{port}", CertificateName, CertificateFile);
        using var channel = TeacherChannel.Create(options, new GrpcChannelOptions());

        // Act
        var described = await new Teacher.TeacherClient(channel).DescribeAsync(new DescribeRequest(), new Metadata { { "x-api-key", Key } });

        // Assert
        Assert.Equal(replicas[0].Version, described.Teachers.Single().Version);
    }

    [Theory]
    [InlineData("", true, "the certificate's name is teacher.test, not the address 127.0.0.1")]
    [InlineData("other.test", true, "a name the certificate does not hold")]
    [InlineData(CertificateName, false, "a self-signed certificate the machine does not trust")]
    public async Task ACertificateThatDoesNotPassTheCheckIsNoConnection(string host, bool trustCertificate, string why)
    {
        // Arrange
        var options = Options(Addresses, host, trustCertificate ? CertificateFile : "");
        using var channel = TeacherChannel.Create(options, new GrpcChannelOptions());

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Teacher.TeacherClient(channel).DescribeAsync(new DescribeRequest(), new Metadata { { "x-api-key", Key } },
                deadline: DateTime.UtcNow.AddSeconds(20)));

        // Assert: no call gets through (the handshake is refused, which no retry would mend).
        Assert.True(error.StatusCode == StatusCode.Internal && error.Status.Detail.Contains("remote certificate was rejected", StringComparison.Ordinal),
            $"{why}: {error.Status}");
    }

    public Task DisposeAsync()
    {
        foreach (var replica in replicas) replica.Process.Dispose();
        directory.Dispose();
        return Task.CompletedTask;
    }
}
