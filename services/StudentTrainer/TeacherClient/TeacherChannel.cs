using System.Net;
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
/// Lists and DNS names are plaintext (h2c): TLS checks one host name, so replicas behind TLS sit
/// behind one https:// address.
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
    public static GrpcChannel Create(string address, GrpcChannelOptions options)
    {
        var parsed = Parse(address);
        options.HttpHandler ??= new SocketsHttpHandler
        {
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            EnableMultipleHttp2Connections = true,
        };
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
        options.Credentials = ChannelCredentials.Insecure;
        return GrpcChannel.ForAddress(parsed.Target, options);
    }

    /// <summary>What <paramref name="address"/> names, or why it names nothing usable.</summary>
    /// <exception cref="ArgumentException">the address is none of the accepted forms; the message says which they are.</exception>
    public static TeacherAddress Parse(string address)
    {
        var text = address.Trim();
        if (text.Contains(','))
        {
            var replicas = new List<DnsEndPoint>();
            foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
            {
                if (!Uri.TryCreate(part, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.Host.Length == 0)
                    throw Invalid(address, $"'{part}' in the list is not http://host:port (a list is plaintext: TLS needs one name, so put replicas behind TLS behind one https:// address)");
                replicas.Add(new DnsEndPoint(uri.Host, uri.Port));
            }
            return new TeacherAddress(AddressKind.List, new Uri($"{ListScheme}:///teachers"), replicas);
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
            return new TeacherAddress(AddressKind.Dns, target, [new DnsEndPoint(hostAndPort[..colon], port)]);
        }
        if ((target.Scheme == Uri.UriSchemeHttp || target.Scheme == Uri.UriSchemeHttps) && target.Host.Length > 0)
            return new TeacherAddress(AddressKind.Single, target, [new DnsEndPoint(target.Host, target.Port)]);
        throw Invalid(address, $"the scheme '{target.Scheme}' is not http, https or dns");
    }

    private static ArgumentException Invalid(string address, string why) => new(
        $"Teacher:Address '{address}' is not usable: {why}. Give http://host:port, https://host:port, " +
        "a comma-separated list of http://host:port (round-robin over them), or dns:///name:port (round-robin over what the name resolves to).");
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

/// <summary>A parsed teacher address: how it is reached, the channel's target, and the replicas it names (the name itself for DNS).</summary>
public sealed record TeacherAddress(AddressKind Kind, Uri Target, IReadOnlyList<DnsEndPoint> Replicas);
