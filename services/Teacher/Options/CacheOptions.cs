using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>The per-example soft-target cache (configuration section "Cache").</summary>
public sealed class CacheOptions : IValidatableObject
{
    public const string Section = "Cache";

    /// <summary>StackExchange.Redis connection string (e.g. 127.0.0.1:6379); empty = an in-process cache. Its password goes in <see cref="RedisPassword"/> or <see cref="RedisPasswordFile"/>, not here.</summary>
    public string Redis { get; set; } = "";

    /// <summary>Redis's password (requirepass, or the ACL user's): from the environment (Cache__RedisPassword), never the command line; empty = none.</summary>
    public string RedisPassword { get; set; } = "";

    /// <summary>A file holding Redis's password (a mounted Secret), surrounding white space trimmed; read at start.</summary>
    public string RedisPasswordFile { get; set; } = "";

    /// <summary>Redis ACL user the password belongs to; empty = the default user (requirepass).</summary>
    public string RedisUser { get; set; } = "";

    /// <summary>Connect to Redis over TLS (also on when the connection string says ssl=true).</summary>
    public bool RedisTls { get; set; }

    /// <summary>PEM file of the certificate authority that signed Redis's certificate, trusted instead of the machine's store; empty = the machine's store.</summary>
    public string RedisTlsCaFile { get; set; } = "";

    /// <summary>PEM certificate this service presents to Redis (tls-auth-clients yes); with <see cref="RedisTlsKeyFile"/>; empty = none.</summary>
    public string RedisTlsCertificateFile { get; set; } = "";

    /// <summary>PEM private key of <see cref="RedisTlsCertificateFile"/>.</summary>
    public string RedisTlsKeyFile { get; set; } = "";

    /// <summary>The name Redis's certificate is checked against; empty = the host of the connection string.</summary>
    public string RedisTlsHost { get; set; } = "";

    /// <summary>
    /// Secret key of a MAC over every cached value (HMAC-SHA256 of key and value), checked on every read, so that a
    /// value not written by a teacher holding this key is dropped and computed again: from the environment
    /// (Cache__KeySecret), never the command line; empty = no MAC.
    /// </summary>
    public string KeySecret { get; set; } = "";

    /// <summary>A file holding <see cref="KeySecret"/> (a mounted Secret), surrounding white space trimmed; read at start.</summary>
    public string KeySecretFile { get; set; } = "";

    /// <summary>How long a cached soft target lives, in seconds.</summary>
    [Range(1, int.MaxValue)]
    public int TtlSeconds { get; set; } = 86400;

    /// <summary>Most examples the in-process cache keeps (about 50 bytes each for ten float32 classes, plus overhead).</summary>
    [Range(1, int.MaxValue)]
    public int InProcessCapacity { get; set; } = 500_000;

    /// <summary>
    /// Most memory the in-process cache's values take, in megabytes: a language model's dense row is its vocabulary's
    /// floats for every position (1 MB for 128 positions of 2,000 tokens), so entries alone do not bound it.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int InProcessMegabytes { get; set; } = 1024;

    /// <summary>Fixed prefix of every cache key, so that one Redis can be shared and old formats retired.</summary>
    [Required(AllowEmptyStrings = false)]
    public string KeyPrefix { get; set; } = "ts:v1:";

    /// <summary>True when a Redis connection string is configured.</summary>
    public bool UsesRedis => !string.IsNullOrWhiteSpace(Redis);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RedisPassword.Length > 0 && RedisPasswordFile.Length > 0)
            yield return new ValidationResult("Cache:RedisPassword and Cache:RedisPasswordFile are both set; give one.");
        if (KeySecret.Length > 0 && KeySecretFile.Length > 0)
            yield return new ValidationResult("Cache:KeySecret and Cache:KeySecretFile are both set; give one.");
        if ((RedisTlsCertificateFile.Length > 0) != (RedisTlsKeyFile.Length > 0))
            yield return new ValidationResult("Cache:RedisTlsCertificateFile and Cache:RedisTlsKeyFile go together; give both or neither.");
    }
}
