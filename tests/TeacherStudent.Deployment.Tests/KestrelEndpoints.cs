using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace TeacherStudent.Deployment.Tests;

/// <summary>A Kestrel endpoint from configuration (Kestrel:Endpoints:NAME): where it listens, how, and with which certificate.</summary>
/// <param name="Scheme">http or https.</param>
/// <param name="EveryAddress">true for a host of "+", "*", 0.0.0.0 or [::]: reachable at the pod's address, not loopback only.</param>
/// <param name="Protocols">its own Protocols, else Kestrel:EndpointDefaults:Protocols, else Kestrel's default.</param>
public sealed record KestrelEndpoint(string Name, string Scheme, bool EveryAddress, int Port, string Protocols, string? CertificatePath, string? KeyPath);

/// <summary>
/// The teacher's Kestrel endpoints as the service reads them: its appsettings.json (which the image
/// ships beside the program), then the image's environment, then the pod's, Section__Key read as
/// Section:Key. Where Kestrel:Endpoints names any, Kestrel binds those and ignores ASPNETCORE_URLS.
/// </summary>
public static partial class KestrelEndpoints
{
    /// <summary>Kestrel's own default for an endpoint that names no protocols.</summary>
    private const string KestrelDefaultProtocols = "Http1AndHttp2";

    /// <summary>The teacher's configuration from its appsettings.json and <paramref name="environment"/> (variables, later ones winning).</summary>
    public static IConfiguration TeacherConfiguration(IEnumerable<KeyValuePair<string, string>> environment) =>
        new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(Builds.RepositoryRoot, "services", "Teacher", "appsettings.json"), optional: false)
            .AddInMemoryCollection(environment.Select(e => KeyValuePair.Create(e.Key.Replace("__", ":"), (string?)e.Value)))
            .Build();

    /// <summary>Every endpoint of Kestrel:Endpoints in <paramref name="configuration"/>.</summary>
    public static List<KestrelEndpoint> Of(IConfiguration configuration)
    {
        var defaults = configuration["Kestrel:EndpointDefaults:Protocols"] ?? KestrelDefaultProtocols;
        var endpoints = new List<KestrelEndpoint>();
        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            var url = endpoint["Url"] ?? throw new Xunit.Sdk.XunitException($"Kestrel endpoint {endpoint.Key} has no Url");
            var parsed = Url().Match(url);
            Assert.True(parsed.Success, $"Kestrel endpoint {endpoint.Key}: '{url}' is not scheme://host:port");
            var host = parsed.Groups["host"].Value;
            endpoints.Add(new KestrelEndpoint(endpoint.Key, parsed.Groups["scheme"].Value, host is "+" or "*" or "0.0.0.0" or "[::]",
                int.Parse(parsed.Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture),
                endpoint["Protocols"] ?? defaults, endpoint["Certificate:Path"], endpoint["Certificate:KeyPath"]));
        }
        return endpoints;
    }

    [GeneratedRegex(@"^(?<scheme>https?)://(?<host>\+|\*|\[[0-9a-fA-F:.]+\]|[^:/\[\]]+):(?<port>\d{1,5})/?$")]
    private static partial Regex Url();
}
