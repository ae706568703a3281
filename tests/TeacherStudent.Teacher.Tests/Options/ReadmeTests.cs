using System.Reflection;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Options;

/// <summary>services/Teacher/README.md against the options classes the service binds.</summary>
public sealed class ReadmeTests
{
    private static string Readme => File.ReadAllText(Path.Combine(Builds.RepositoryRoot, "services", "Teacher", "README.md"));

    /// <summary>
    /// Every key a user can set: each options class with a <c>Section</c> constant, bound as
    /// Section:Property, and the lists bound from the root (Teachers:N:..., Upstreams:N:..., Ensembles:N:...).
    /// </summary>
    public static IEnumerable<string> Keys()
    {
        var sectioned = typeof(CacheOptions).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(CacheOptions).Namespace && t.GetField("Section", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true })
            .SelectMany(t => Settable(t).Select(p => $"{t.GetField("Section")!.GetRawConstantValue()}:{p}"));
        var lists = Settable(typeof(TeacherOptions)).Select(p => $"{TeachersOptions.ListSection}:N:{p}")
            .Concat(Settable(typeof(UpstreamOptions)).Select(p => $"{TeachersOptions.UpstreamsSection}:N:{p}"))
            .Concat(Settable(typeof(EnsembleOptions)).Select(p => $"{TeachersOptions.EnsemblesSection}:N:{p}"));
        return sectioned.Concat(lists).Order(StringComparer.Ordinal);
    }

    private static IEnumerable<string> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }).Select(p => p.Name);

    [Fact]
    public void TheServiceReadmeDocumentsEveryConfigurationKey()
    {
        // Arrange
        var readme = Readme;
        var keys = Keys().ToList();
        Assert.Contains("Cache:KeyPrefix", keys);

        // Act
        var undocumented = keys.Where(key => !Documented(readme, key)).ToList();

        // Assert
        Assert.True(undocumented.Count == 0, $"services/Teacher/README.md does not document: {string.Join(", ", undocumented)}");
    }

    // A key is documented as itself (`Cache:Redis`, `Auth:ApiKeys:N` for a list), or, for a list of
    // objects, as its property's name (`BaseUrl`) in the section of the README that names the list
    // (`Upstreams:N:...`).
    private static bool Documented(string readme, string key)
    {
        if (readme.Contains($"`{key}`", StringComparison.Ordinal) || readme.Contains($"`{key}:N`", StringComparison.Ordinal)) return true;
        var at = key.IndexOf(":N:", StringComparison.Ordinal);
        if (at < 0) return false;
        var list = $"`{key[..(at + 3)]}...`";
        for (var start = readme.IndexOf(list, StringComparison.Ordinal); start >= 0; start = readme.IndexOf(list, start + 1, StringComparison.Ordinal))
        {
            var end = readme.IndexOf("\n## ", start, StringComparison.Ordinal);
            var section = end < 0 ? readme[start..] : readme[start..end];
            if (section.Contains($"`{key[(at + 3)..]}`", StringComparison.Ordinal)) return true;
        }
        return false;
    }
}
