using System.Buffers.Binary;
using System.Security.Cryptography;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// A MAC over every value of a shared cache (Cache:KeySecret): each value is stored with the first
/// <see cref="TagBytes"/> bytes of HMAC-SHA256(secret, key length, key, value) after it, and checked on every read.
/// A value whose tag does not check (written by anything without the secret, or moved to another key) is
/// dropped: the example is a miss, computed again and written over the bad value. Access control keeps
/// strangers out of Redis; this keeps a wrong target out of every student when something inside gets in.
/// </summary>
public sealed class AuthenticatedSoftTargetCache(ISoftTargetCache inner, byte[] secret, TeacherMetrics metrics, ILogger<AuthenticatedSoftTargetCache> logger)
    : ISoftTargetCache
{
    /// <summary>Bytes of the tag after each value: 128 bits of HMAC-SHA256, as many as a forger must guess.</summary>
    public const int TagBytes = 16;

    // One warning a minute at most: a flood of forged values must not flood the log too.
    private static readonly long WarnEveryMs = 60_000;
    private long nextWarning;

    public async Task<byte[]?[]> GetManyAsync(IReadOnlyList<byte[]> keys, CancellationToken cancellationToken)
    {
        var stored = await inner.GetManyAsync(keys, cancellationToken);
        var values = new byte[]?[stored.Length];
        int rejected = 0;
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secret);
        Span<byte> tag = stackalloc byte[32];
        for (int i = 0; i < stored.Length; i++)
        {
            if (stored[i] is not { } value) continue;
            if (value.Length < TagBytes)
            {
                rejected++;
                continue;
            }
            var body = value.AsSpan(0, value.Length - TagBytes);
            Tag(hmac, keys[i], body, tag);
            if (CryptographicOperations.FixedTimeEquals(tag[..TagBytes], value.AsSpan(value.Length - TagBytes))) values[i] = body.ToArray();
            else rejected++;
        }
        if (rejected > 0) Rejected(rejected, stored.Length);
        return values;
    }

    public Task SetManyAsync(IReadOnlyList<byte[]> keys, IReadOnlyList<byte[]> values, CancellationToken cancellationToken)
    {
        var tagged = new byte[values.Count][];
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secret);
        Span<byte> tag = stackalloc byte[32];
        for (int i = 0; i < values.Count; i++)
        {
            var value = values[i];
            var withTag = new byte[value.Length + TagBytes];
            value.CopyTo(withTag, 0);
            Tag(hmac, keys[i], value, tag);
            tag[..TagBytes].CopyTo(withTag.AsSpan(value.Length));
            tagged[i] = withTag;
        }
        return inner.SetManyAsync(keys, tagged, cancellationToken);
    }

    // Above this many bytes of key and value, they are hashed in three appends rather than copied into one.
    private const int OneAppendBytes = 1024;

    // The key's length first, so that no split of key and value bytes gives another pair the same tag. A small
    // key and value (a classifier's row) go in as one append: each append is a call into the native library,
    // which costs as much as hashing the bytes.
    private static void Tag(IncrementalHash hmac, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, Span<byte> tag)
    {
        int total = 4 + key.Length + value.Length;
        if (total <= OneAppendBytes)
        {
            Span<byte> all = stackalloc byte[OneAppendBytes];
            BinaryPrimitives.WriteInt32LittleEndian(all, key.Length);
            key.CopyTo(all[4..]);
            value.CopyTo(all[(4 + key.Length)..]);
            hmac.AppendData(all[..total]);
        }
        else
        {
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, key.Length);
            hmac.AppendData(length);
            hmac.AppendData(key);
            hmac.AppendData(value);
        }
        hmac.GetHashAndReset(tag);
    }

    private void Rejected(int rejected, int read)
    {
        metrics.CacheValuesRejected(rejected);
        var now = Environment.TickCount64;
        var next = Interlocked.Read(ref nextWarning);
        if (now >= next && Interlocked.CompareExchange(ref nextWarning, now + WarnEveryMs, next) == next)
            logger.CacheValuesRejected(rejected, read);
    }
}
