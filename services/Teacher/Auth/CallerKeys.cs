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

    /// <summary>One of <see cref="AuthOptions.ApiKeys"/> or of <see cref="AuthOptions.ApiKeysFile"/>.</summary>
    Caller,

    /// <summary><see cref="AuthOptions.AdminKey"/> or the key in <see cref="AuthOptions.AdminKeyFile"/>.</summary>
    Admin,
}

/// <summary>
/// The configured keys, and which of them a presented key is. Keys are compared as SHA-256
/// digests with <see cref="CryptographicOperations.FixedTimeEquals"/>, and every configured key is
/// compared every time, so neither the time taken nor an early exit tells how close a guess was.
/// Keys from files (<see cref="AuthOptions.ApiKeysFile"/>, <see cref="AuthOptions.AdminKeyFile"/>) are
/// read at start, and again by <see cref="KeyFileWatcher"/> whenever they change: each call sees the keys
/// of the last complete read, never a mix of two.
/// </summary>
public sealed class CallerKeys
{
    private readonly AuthOptions options;
    private readonly byte[][] configuredApiKeys;
    private Snapshot current;

    /// <exception cref="TeacherStartupException">a key file cannot be read, or holds no key.</exception>
    public CallerKeys(IOptions<AuthOptions> options)
    {
        this.options = options.Value;
        configuredApiKeys = this.options.ApiKeys.Select(Digest).ToArray();
        var fileKeys = KeyFiles.Read(this.options);
        if (fileKeys.Problem is not null) throw new TeacherStartupException(fileKeys.Problem);
        current = Build(fileKeys);
    }

    /// <summary>True when Describe and SoftTargets need a key: some are configured, or a key file is (even one that comes to hold none).</summary>
    public bool CallerKeyRequired => Volatile.Read(ref current).CallerKeyRequired;

    /// <summary>True when an admin key is configured (without one the admin service is off).</summary>
    public bool AdminKeyConfigured => Volatile.Read(ref current).AdminKey is not null;

    /// <summary>What <paramref name="presented"/> (null or empty when none was sent) is.</summary>
    public CallerRole Identify(string? presented)
    {
        if (string.IsNullOrEmpty(presented)) return CallerRole.None;
        var keys = Volatile.Read(ref current);
        var digest = Digest(presented);
        var isCaller = false;
        foreach (var key in keys.ApiKeys) isCaller |= CryptographicOperations.FixedTimeEquals(key, digest);
        var isAdmin = keys.AdminKey is not null && CryptographicOperations.FixedTimeEquals(keys.AdminKey, digest);
        return isAdmin ? CallerRole.Admin : isCaller ? CallerRole.Caller : CallerRole.Unknown;
    }

    /// <summary>
    /// Reads the key files again and, when they hold keys, makes them the keys from the next call on; when one
    /// cannot be read or holds no key (a file being rewritten in place, a mistake), the keys read before stay.
    /// </summary>
    /// <returns>What changed, or why nothing did.</returns>
    public KeyReload Reload()
    {
        var read = KeyFiles.Read(options);
        if (read.Problem is not null) return new KeyReload(Changed: false, Added: 0, Removed: 0, read.Problem);
        var next = Build(read);
        var before = Volatile.Read(ref current);
        var oldKeys = before.ApiKeys.Select(Convert.ToHexString).ToHashSet();
        var newKeys = next.ApiKeys.Select(Convert.ToHexString).ToHashSet();
        var adminChanged = !SameKey(before.AdminKey, next.AdminKey);
        Volatile.Write(ref current, next);
        return new KeyReload(Changed: adminChanged || !oldKeys.SetEquals(newKeys), newKeys.Except(oldKeys).Count(), oldKeys.Except(newKeys).Count(), Problem: null, adminChanged);
    }

    private Snapshot Build(KeyFiles read)
    {
        var apiKeys = configuredApiKeys.Concat(read.ApiKeys.Select(Digest)).ToArray();
        var admin = read.AdminKey ?? (string.IsNullOrEmpty(options.AdminKey) ? null : options.AdminKey);
        return new Snapshot(apiKeys, admin is null ? null : Digest(admin), CallerKeyRequired: apiKeys.Length > 0 || options.ApiKeysFile.Length > 0);
    }

    private static bool SameKey(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    private static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    private sealed record Snapshot(byte[][] ApiKeys, byte[]? AdminKey, bool CallerKeyRequired);
}

/// <summary>What <see cref="CallerKeys.Reload"/> did: whether the keys changed, how many caller keys came and went, or why the files were not taken.</summary>
public sealed record KeyReload(bool Changed, int Added, int Removed, string? Problem, bool AdminKeyChanged = false);

/// <summary>The keys in the files <see cref="AuthOptions"/> names (none when it names none), or why they cannot be used.</summary>
internal sealed record KeyFiles(IReadOnlyList<string> ApiKeys, string? AdminKey, string? Problem)
{
    public static KeyFiles Read(AuthOptions options)
    {
        IReadOnlyList<string> apiKeys = [];
        string? adminKey = null;
        try
        {
            if (options.ApiKeysFile.Length > 0)
            {
                apiKeys = File.ReadAllLines(options.ApiKeysFile).Select(line => line.Trim())
                    .Where(line => line.Length > 0 && !line.StartsWith('#')).ToArray();
                if (apiKeys.Count == 0) return new([], null, $"Auth:ApiKeysFile '{options.ApiKeysFile}' holds no key (one per line; blank lines and lines starting with # are skipped).");
            }
            if (options.AdminKeyFile.Length > 0)
            {
                adminKey = File.ReadAllText(options.AdminKeyFile).Trim();
                if (adminKey.Length == 0) return new([], null, $"Auth:AdminKeyFile '{options.AdminKeyFile}' holds no key.");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new([], null, $"a key file cannot be read: {e.Message}");
        }
        return new(apiKeys, adminKey, null);
    }
}
