using Microsoft.Extensions.Configuration.CommandLine;

namespace TeacherStudent.Teacher.Options;

/// <summary>
/// Settings that hold a secret (a password, a key): given directly from the environment or a settings file, or as
/// a file (a mounted Kubernetes Secret) named by a sibling setting, but never on the command line, where any user
/// of the machine reads it in the process list.
/// </summary>
public static class SecretSettings
{
    /// <summary>The settings that must not come from the command line, and what to do instead.</summary>
    private static readonly (string Key, string Instead)[] Secrets =
    [
        ("Cache:RedisPassword", "set Cache__RedisPassword in the environment or give Cache:RedisPasswordFile"),
        ("Cache:KeySecret", "set Cache__KeySecret in the environment or give Cache:KeySecretFile"),
    ];

    /// <summary>Why the command line in <paramref name="configuration"/> holds a secret it must not; null when it holds none.</summary>
    public static string? CommandLineProblem(IConfiguration configuration)
    {
        if (configuration is not IConfigurationRoot root) return null;
        var commandLine = root.Providers.OfType<CommandLineConfigurationProvider>().ToArray();
        foreach (var (key, instead) in Secrets)
            if (commandLine.Any(p => p.TryGet(key, out var value) && !string.IsNullOrEmpty(value)))
                return $"{key} is given on the command line, where every user of the machine can read it in the process list; {instead}.";
        foreach (var provider in commandLine)
            if (provider.TryGet($"{CacheOptions.Section}:{nameof(CacheOptions.Redis)}", out var redis) && redis is not null && HasPassword(redis))
                return "Cache:Redis is given on the command line with a password in it, where every user of the machine can read it in the process list; " +
                       "give the password as Cache__RedisPassword in the environment or in Cache:RedisPasswordFile.";
        return null;
    }

    /// <summary>
    /// <paramref name="value"/>, or else the content of <paramref name="file"/> with surrounding white space trimmed; empty when neither is set.
    /// </summary>
    /// <exception cref="TeacherStartupException">the file cannot be read, or holds nothing; the message names the setting and the file.</exception>
    public static string Read(string value, string file, string fileSetting)
    {
        if (value.Length > 0 || file.Length == 0) return value;
        string content;
        try
        {
            content = File.ReadAllText(file).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TeacherStartupException($"{fileSetting} '{file}' cannot be read: {e.Message}", e);
        }
        if (content.Length == 0) throw new TeacherStartupException($"{fileSetting} '{file}' is empty; it should hold the secret.");
        return content;
    }

    // StackExchange.Redis's syntax: comma-separated options, the password as password=...
    private static bool HasPassword(string connectionString) =>
        connectionString.Split(',').Any(part => part.TrimStart().StartsWith("password=", StringComparison.OrdinalIgnoreCase) && part.Trim().Length > "password=".Length);
}
