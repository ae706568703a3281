using Grpc.Core;

namespace TeacherStudent.Teacher.Tests.Fixtures;

/// <summary>The keys the secured test services are started with, and metadata that carries them.</summary>
public static class ApiKeys
{
    public const string Caller = "caller-key-0123456789";
    public const string OtherCaller = "caller-key-abcdefghij";
    public const string Admin = "admin-key-0123456789";

    /// <summary>Configuration that turns authentication on with the keys above.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Settings =>
    [
        new("Auth:ApiKeys:0", Caller),
        new("Auth:ApiKeys:1", OtherCaller),
        new("Auth:AdminKey", Admin),
    ];

    /// <summary>Metadata carrying <paramref name="key"/> as x-api-key.</summary>
    public static Metadata Header(string key) => new() { { "x-api-key", key } };

    /// <summary>Metadata carrying <paramref name="key"/> as authorization: Bearer.</summary>
    public static Metadata Bearer(string key) => new() { { "authorization", $"Bearer {key}" } };
}
