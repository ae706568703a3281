using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests;

/// <summary>TLS comes from Kestrel's own configuration keys; the service needs no code for it.</summary>
public sealed class TlsTests
{
    [Fact]
    public async Task ACertificateInKestrelConfigurationServesGrpcOverTlsWithAnApiKey()
    {
        // Arrange: a self-signed certificate for 127.0.0.1 as PEM files.
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 61);
        using var certificate = await SelfSignedAsync(directory);
        var app = TeacherApp.Build([
            "--urls", "https://127.0.0.1:0", "--Logging:LogLevel:Default=Warning",
            $"--Kestrel:Certificates:Default:Path={directory.File("tls.crt")}",
            $"--Kestrel:Certificates:Default:KeyPath={directory.File("tls.key")}",
            $"--Teacher:Checkpoint={checkpoint}", "--Teacher:Device=cpu", $"--Auth:ApiKeys:0={ApiKeys.Caller}",
        ]);
        await app.StartAsync();
        try
        {
            var address = app.Urls.Single();
            using var handler = new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == certificate.Thumbprint,
            };
            using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler });

            // Act
            var response = await new Contracts.V1.Teacher.TeacherClient(channel)
                .DescribeAsync(new DescribeRequest(), ApiKeys.Header(ApiKeys.Caller));

            // Assert
            Assert.StartsWith("https://", address);
            Assert.Single(response.Teachers);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task AHealthOnlyPlaintextPortAnswersProbesAndNothingElseBesideTheTlsPort()
    {
        // Arrange: callers on a TLS port, the kubelet's plaintext gRPC probes on a port of their own.
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 62);
        using var certificate = await SelfSignedAsync(directory);
        var healthPort = FreePort.Next();
        var app = TeacherApp.Build([
            "--Logging:LogLevel:Default=Warning",
            "--Kestrel:Endpoints:Grpc:Url=https://127.0.0.1:0",
            $"--Kestrel:Endpoints:Grpc:Certificate:Path={directory.File("tls.crt")}",
            $"--Kestrel:Endpoints:Grpc:Certificate:KeyPath={directory.File("tls.key")}",
            $"--Kestrel:Endpoints:Health:Url=http://127.0.0.1:{healthPort}",
            $"--Health:OnlyPort={healthPort}",
            $"--Teacher:Checkpoint={checkpoint}", "--Teacher:Device=cpu",
        ]);
        await app.StartAsync();
        try
        {
            var secure = app.Urls.Single(u => u.StartsWith("https://", StringComparison.Ordinal));
            using var handler = new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == certificate.Thumbprint,
            };
            using var tlsChannel = GrpcChannel.ForAddress(secure, new GrpcChannelOptions { HttpHandler = handler });
            using var probeChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{healthPort}");

            // Act
            var probe = await new Grpc.Health.V1.Health.HealthClient(probeChannel).CheckAsync(new Grpc.Health.V1.HealthCheckRequest());
            var plaintext = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
                await new Contracts.V1.Teacher.TeacherClient(probeChannel).DescribeAsync(new DescribeRequest()));
            var admin = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
                await new TeacherAdmin.TeacherAdminClient(probeChannel).LoadCheckpointAsync(new LoadCheckpointRequest { Teacher = "fashion", CheckpointPath = checkpoint }));
            var described = await new Contracts.V1.Teacher.TeacherClient(tlsChannel).DescribeAsync(new DescribeRequest());

            // Assert
            Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, probe.Status);
            Assert.Equal(Grpc.Core.StatusCode.PermissionDenied, plaintext.StatusCode);
            Assert.Equal($"port {healthPort} answers only grpc.health.v1 (Health:OnlyPort); call the service's other port", plaintext.Status.Detail);
            Assert.Equal(Grpc.Core.StatusCode.PermissionDenied, admin.StatusCode);
            Assert.Single(described.Teachers);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    // A self-signed certificate for 127.0.0.1, written as PEM files tls.crt and tls.key in the directory.
    private static async Task<X509Certificate2> SelfSignedAsync(TemporaryDirectory directory)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        await File.WriteAllTextAsync(directory.File("tls.crt"), certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(directory.File("tls.key"), key.ExportPkcs8PrivateKeyPem());
        return certificate;
    }
}
