using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Auth;

/// <summary>Who a presented key says the caller is.</summary>
public enum CallerRole
{
    /// <summary>No key was sent.</summary>
    None,

    /// <summary>A key was sent, but it is none of the configured ones.</summary>
    Unknown,

    /// <summary>One of <see cref="AuthOptions.ApiKeys"/>.</summary>
    Caller,

    /// <summary><see cref="AuthOptions.AdminKey"/>.</summary>
    Admin,
}

/// <summary>
/// The configured keys, and which of them a presented key is. Keys are compared as SHA-256
/// digests with <see cref="CryptographicOperations.FixedTimeEquals"/>, and every configured key is
/// compared every time, so neither the time taken nor an early exit tells how close a guess was.
/// </summary>
public sealed class CallerKeys(IOptions<AuthOptions> options)
{
    private readonly byte[][] apiKeys = options.Value.ApiKeys.Select(Digest).ToArray();
    private readonly byte[]? adminKey = string.IsNullOrEmpty(options.Value.AdminKey) ? null : Digest(options.Value.AdminKey);

    /// <summary>True when Describe and SoftTargets need a key.</summary>
    public bool CallerKeyRequired => apiKeys.Length > 0;

    /// <summary>True when an admin key is configured (without one the admin service is off).</summary>
    public bool AdminKeyConfigured => adminKey is not null;

    /// <summary>What <paramref name="presented"/> (null or empty when none was sent) is.</summary>
    public CallerRole Identify(string? presented)
    {
        if (string.IsNullOrEmpty(presented)) return CallerRole.None;
        var digest = Digest(presented);
        var isCaller = false;
        foreach (var key in apiKeys) isCaller |= CryptographicOperations.FixedTimeEquals(key, digest);
        var isAdmin = adminKey is not null && CryptographicOperations.FixedTimeEquals(adminKey, digest);
        return isAdmin ? CallerRole.Admin : isCaller ? CallerRole.Caller : CallerRole.Unknown;
    }

    private static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
