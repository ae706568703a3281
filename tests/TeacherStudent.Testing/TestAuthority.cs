using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TeacherStudent.Testing;

/// <summary>
/// A certificate authority of a test's own, made with .NET's certificate APIs: its certificate as a PEM file, and
/// server or client certificates it signs, each written as PEM certificate and key files beside it.
/// </summary>
public sealed class TestAuthority : IDisposable
{
    private readonly RSA key = RSA.Create(2048);
    private readonly X509Certificate2 certificate;
    private readonly string directory;

    /// <summary>A new authority whose files go into <paramref name="directory"/>.</summary>
    public TestAuthority(string directory, string name = "TeacherStudent test authority")
    {
        this.directory = directory;
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        CaFile = Path.Combine(directory, $"{Stem(name)}.crt");
        File.WriteAllText(CaFile, certificate.ExportCertificatePem());
    }

    /// <summary>The authority's certificate, PEM.</summary>
    public string CaFile { get; }

    /// <summary>
    /// A certificate for a server known as <paramref name="dnsNames"/> and <paramref name="addresses"/> (or, with
    /// <paramref name="client"/>, for a client), signed by this authority: its PEM certificate and key files.
    /// </summary>
    public (string CertificateFile, string KeyFile) Issue(string stem, IEnumerable<string> dnsNames, IEnumerable<IPAddress>? addresses = null, bool client = false)
    {
        using var leafKey = RSA.Create(2048);
        var names = dnsNames.ToArray();
        var request = new CertificateRequest($"CN={(names.Length > 0 ? names[0] : stem)}", leafKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        var serverAuth = new Oid("1.3.6.1.5.5.7.3.1");
        var clientAuth = new Oid("1.3.6.1.5.5.7.3.2");
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([client ? clientAuth : serverAuth], critical: false));
        if (names.Length > 0 || addresses is not null)
        {
            var alternatives = new SubjectAlternativeNameBuilder();
            foreach (var name in names) alternatives.AddDnsName(name);
            foreach (var address in addresses ?? []) alternatives.AddIpAddress(address);
            request.CertificateExtensions.Add(alternatives.Build());
        }
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7f;
        using var leaf = request.Create(certificate, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(12), serial);
        var certificateFile = Path.Combine(directory, $"{stem}.crt");
        var keyFile = Path.Combine(directory, $"{stem}.key");
        File.WriteAllText(certificateFile, leaf.ExportCertificatePem());
        File.WriteAllText(keyFile, leafKey.ExportPkcs8PrivateKeyPem());
        return (certificateFile, keyFile);
    }

    private static string Stem(string name) => string.Concat(name.Select(c => char.IsLetterOrDigit(c) ? c : '-'));

    public void Dispose()
    {
        certificate.Dispose();
        key.Dispose();
    }
}
