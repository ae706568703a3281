using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>The per-example soft-target cache (configuration section "Cache").</summary>
public sealed class CacheOptions
{
    public const string Section = "Cache";

    /// <summary>StackExchange.Redis connection string (e.g. 127.0.0.1:6379); empty = an in-process cache.</summary>
    public string Redis { get; set; } = "";

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
}
