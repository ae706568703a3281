using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace TeacherStudent.StudentTrainer.TeacherClient;

/// <summary>
/// The gRPC channel to the teacher service named by <see cref="TeacherClientOptions.Address"/>,
/// which is one of:
/// <list type="bullet">
/// <item><c>http://host:port</c> or <c>https://host:port</c>: one service;</item>
/// <item><c>http://a:5005,http://b:5005</c>: several replicas, calls balanced round-robin over them;</item>
/// <item><c>dns:///name:port</c>: every address the name resolves to (a Kubernetes headless
/// Service), balanced round-robin, resolved again every <see cref="DnsRefresh"/> and whenever a
/// connection fails, so replicas that come and go are followed.</item>
/// </list>
/// Balancing is per call: a <c>SoftTargets</c> stream stays on the replica it was opened on, so
/// many students spread over the replicas, and a student whose replica goes away opens its next
/// stream on one that is still there (<see cref="TeacherRetry"/> tries the failed batch again).
/// TLS: an https:// address or a list of https:// addresses, or any form with <see cref="TeacherTls.Host"/>
/// set (which turns TLS on for dns:///): every replica's certificate is then checked against that one name,
/// whatever address the replica was reached at, so students spread over replicas and encrypt.
/// <see cref="TeacherTls.CaFile"/> trusts a certificate authority (or a self-signed certificate) of the
/// cluster's own instead of the machine's store.
/// </summary>
public static class TeacherChannel
{
    /// <summary>How often a <c>dns:///</c> name is resolved again, to find replicas added since.</summary>
    public static readonly TimeSpan DnsRefresh = TimeSpan.FromSeconds(30);

    /// <summary>The scheme of the channel address that a list of replicas is reached through.</summary>
    private const string ListScheme = "static";

    /// <summary>
    /// A channel for <paramref name="address"/>, with <paramref name="options"/> (message size
    /// limits and the like) plus what balancing needs and HTTP/2 keep-alive pings, so that a
    /// replica that vanished without closing its connections is noticed in seconds, not at the
    /// call's timeout.
    /// </summary>
    /// <exception cref="ArgumentException">the address is none of the forms above.</exception>
    public static GrpcChannel Create(string address, GrpcChannelOptions options) => Create(address, options, TeacherTls.None);

    /// <summary>A channel for <paramref name="teacher"/>'s address, with its TLS settings.</summary>
    /// <exception cref="ArgumentException">the address is none of the accepted forms, or the TLS settings do not fit it.</exception>
    public static GrpcChannel Create(TeacherClientOptions teacher, GrpcChannelOptions options) =>
        Create(teacher.Address, options, new TeacherTls(teacher.TlsHost, teacher.TlsCaFile));

    /// <summary>A channel for <paramref name="address"/>, encrypted as <paramref name="tls"/> and the address say.</summary>
    /// <exception cref="ArgumentException">the address is none of the accepted forms, or the TLS settings do not fit it.</exception>
    public static GrpcChannel Create(string address, GrpcChannelOptions options, TeacherTls tls)
    {
        var parsed = Parse(address, tls);
        var handler = new SocketsHttpHandler
        {
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            EnableMultipleHttp2Connections = true,
        };
        if (parsed.Secure && tls.ChecksItself) handler.SslOptions.RemoteCertificateValidationCallback = tls.Validator();
        options.HttpHandler ??= handler;
        if (parsed.Kind == AddressKind.Single) return GrpcChannel.ForAddress(parsed.Target, options);

        var services = new ServiceCollection();
        if (parsed.Kind == AddressKind.List)
        {
            var replicas = parsed.Replicas.Select(r => new BalancerAddress(r.Host, r.Port)).ToArray();
            services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => replicas));
        }
        else
        {
            services.AddSingleton<ResolverFactory>(new DnsResolverFactory(DnsRefresh));
        }
        options.ServiceProvider = services.BuildServiceProvider();
        options.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } };
        options.Credentials = parsed.Secure ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure;
        return GrpcChannel.ForAddress(parsed.Target, options);
    }

    /// <summary>What <paramref name="address"/> names, or why it names nothing usable.</summary>
    /// <exception cref="ArgumentException">the address is none of the accepted forms; the message says which they are.</exception>
    public static TeacherAddress Parse(string address) => Parse(address, TeacherTls.None);

    /// <summary>What <paramref name="address"/> names with <paramref name="tls"/>, or why it names nothing usable.</summary>
    /// <exception cref="ArgumentException">the address is none of the accepted forms, or mixes plaintext and TLS; the message says what to give.</exception>
    public static TeacherAddress Parse(string address, TeacherTls tls)
    {
        var text = address.Trim();
        if (text.Contains(','))
        {
            var replicas = new List<DnsEndPoint>();
            var schemes = new HashSet<string>();
            foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
            {
                if (!Uri.TryCreate(part, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
                    throw Invalid(address, $"'{part}' in the list is not http://host:port or https://host:port");
                schemes.Add(uri.Scheme);
                replicas.Add(new DnsEndPoint(uri.Host, uri.Port));
            }
            if (schemes.Count > 1)
                throw Invalid(address, "the list mixes http:// and https:// addresses; give every replica the same scheme");
            var secure = schemes.Contains(Uri.UriSchemeHttps);
            if (!secure && tls.Host.Length > 0)
                throw Invalid(address, $"Teacher:TlsHost '{tls.Host}' asks for TLS, and the list's addresses are http://; write them https://");
            return new TeacherAddress(AddressKind.List, new Uri($"{ListScheme}:///teachers"), replicas, secure);
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var target))
            throw Invalid(address, "it is not an absolute address");
        if (target.Scheme == "dns")
        {
            // dns:///name:port: the name and port are the path, after an empty authority.
            var hostAndPort = target.AbsolutePath.TrimStart('/');
            int colon = hostAndPort.LastIndexOf(':');
            if (target.Authority.Length > 0 || colon <= 0 || !int.TryParse(hostAndPort[(colon + 1)..], out var port) || port is < 1 or > 65535)
                throw Invalid(address, "a DNS name is written dns:///name:port, with three slashes and a port");
            return new TeacherAddress(AddressKind.Dns, target, [new DnsEndPoint(hostAndPort[..colon], port)], Secure: tls.Host.Length > 0);
        }
        if ((target.Scheme == Uri.UriSchemeHttp || target.Scheme == Uri.UriSchemeHttps) && target.Host.Length > 0)
        {
            if (target.Scheme == Uri.UriSchemeHttp && tls.Host.Length > 0)
                throw Invalid(address, $"Teacher:TlsHost '{tls.Host}' asks for TLS, and the address is http://; write it https://");
            return new TeacherAddress(AddressKind.Single, target, [new DnsEndPoint(target.Host, target.Port)], target.Scheme == Uri.UriSchemeHttps);
        }
        throw Invalid(address, $"the scheme '{target.Scheme}' is not http, https or dns");
    }

    private static ArgumentException Invalid(string address, string why) => new(
        $"Teacher:Address '{address}' is not usable: {why}. Give http://host:port, https://host:port, " +
        "a comma-separated list of them (round-robin over them), or dns:///name:port (round-robin over what the name resolves to; TLS with Teacher:TlsHost).");
}

/// <summary>How a teacher address is reached.</summary>
public enum AddressKind
{
    /// <summary>One http:// or https:// address.</summary>
    Single,
    /// <summary>A fixed list of replicas.</summary>
    List,
    /// <summary>A DNS name whose every address is a replica.</summary>
    Dns,
}

/// <summary>A parsed teacher address: how it is reached, the channel's target, the replicas it names (the name itself for DNS), and whether over TLS.</summary>
public sealed record TeacherAddress(AddressKind Kind, Uri Target, IReadOnlyList<DnsEndPoint> Replicas, bool Secure = false);

/// <summary>
/// How a student checks the teacher's certificate: against <paramref name="Host"/> when given (one name for every
/// replica; empty = the name each address was reached by), chained to the certificates in <paramref name="CaFile"/>
/// when given (empty = the machine's trust store).
/// </summary>
public sealed record TeacherTls(string Host, string CaFile)
{
    /// <summary>No TLS settings: https:// addresses are checked as the machine checks them.</summary>
    public static TeacherTls None { get; } = new("", "");

    /// <summary>Whether the check is this class's own rather than the machine's default one.</summary>
    public bool ChecksItself => Host.Length > 0 || CaFile.Length > 0;

    /// <summary>The certificate check: the chain (to <see cref="CaFile"/>'s certificates, or the machine's), then the name.</summary>
    /// <exception cref="ArgumentException">the CA file cannot be read as PEM certificates.</exception>
    public RemoteCertificateValidationCallback Validator()
    {
        var authorities = new X509Certificate2Collection();
        if (CaFile.Length > 0)
        {
            try
            {
                authorities.ImportFromPemFile(CaFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                throw new ArgumentException($"Teacher:TlsCaFile '{CaFile}' cannot be read as PEM certificates: {e.Message}", e);
            }
            if (authorities.Count == 0) throw new ArgumentException($"Teacher:TlsCaFile '{CaFile}' holds no PEM certificate.");
        }
        return (_, certificate, presentedChain, errors) =>
        {
            if (certificate is null) return false;
            using var presented = new X509Certificate2(certificate);
            bool chained;
            if (authorities.Count == 0) chained = (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0;
            else
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                // Intermediate certificates the server sent, so that a leaf signed by one chains to the trusted root.
                if (presentedChain is not null)
                    foreach (var element in presentedChain.ChainElements.Skip(1)) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                chained = chain.Build(presented);
            }
            var named = Host.Length > 0 ? presented.MatchesHostname(Host) : (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
            return chained && named;
        };
    }
}
